"""The enterprise personas (manager, acme, admins, resident…) for the back-office tests."""

from healthcode.enterprises.tests.conftest import (  # noqa: F401
    acme,
    city_admin,
    co_manager,
    district_admin,
    employee,
    globex,
    industry_admin,
    manager,
    other_manager,
    resident,
    scanner,
)
