"""Granting admin roles: the service and `manage.py grant_admin_role`."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from healthcode.accounts.models import User
from healthcode.accounts.permissions import enterprises_in_scope
from healthcode.audit.models import AuditRecord
from healthcode.backoffice.models import AdminRole
from healthcode.backoffice.services import grant_admin_role

pytestmark = pytest.mark.django_db


def test_it_grants_a_district_role_from_the_command_creating_the_account():
    """A new phone gets an account and the role; the grant is audited."""
    out = StringIO()
    call_command(
        "grant_admin_role",
        "--phone",
        "13900000011",
        "--kind",
        "district_admin",
        "--district",
        "450103",
        stdout=out,
    )
    role = AdminRole.objects.get()
    assert role.user.phone == "13900000011" and role.district_id == "450103"
    assert "account created" in out.getvalue()
    assert AuditRecord.objects.filter(action="admin_role_grant").exists()


def test_it_grants_industry_and_city_roles(acme):
    """An industry admin sees its department's enterprises; a city admin all."""
    industry, _ = grant_admin_role(phone="13900000012", kind="industry_admin", department="gxj")
    city, _ = grant_admin_role(phone="13900000013", kind="city_admin")
    assert list(enterprises_in_scope(industry.user)) == [acme]
    assert list(enterprises_in_scope(city.user)) == [acme]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kind": "district_admin"}, "district"),
        ({"kind": "district_admin", "district": "420100"}, "district"),
        ({"kind": "reviewer", "district": "450103", "department": "gxj"}, "department"),
        ({"kind": "industry_admin", "department": "nope"}, "department"),
        ({"kind": "industry_admin", "department": "gxj", "district": "450103"}, "district"),
        ({"kind": "city_admin", "district": "450103"}, "__all__"),
        ({"kind": "king"}, "kind"),
    ],
)
def test_it_refuses_a_role_with_the_wrong_scope(kwargs, field):
    """Each kind needs exactly its own scope; nothing is created."""
    with pytest.raises(ValidationError) as exc:
        grant_admin_role(phone="13900000014", **kwargs)
    assert field in exc.value.message_dict
    assert not User.objects.filter(phone="13900000014").exists()


def test_it_refuses_a_role_held_already_and_a_bad_phone():
    """The same role twice, or a bad phone, is refused by the command with the reason."""
    call_command(
        "grant_admin_role", "--phone", "13900000015", "--kind", "city_admin", stdout=StringIO()
    )
    with pytest.raises(CommandError, match="已拥有"):
        call_command(
            "grant_admin_role", "--phone", "13900000015", "--kind", "city_admin", stdout=StringIO()
        )
    with pytest.raises(CommandError, match="phone"):
        call_command(
            "grant_admin_role", "--phone", "123", "--kind", "city_admin", stdout=StringIO()
        )
