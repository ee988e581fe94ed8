"""Who viewed my data: unmasked views and exports of the resident's codes by others, from
the audit log, with the viewer's role and organisation, never the viewer's full phone."""

from __future__ import annotations

import pytest
from django.test import Client

from healthcode.codes.services import reveal_id_number
from healthcode.enterprises.exports import export_employees
from healthcode.notifications.tests.conftest import REVIEWER_ORGANISATION
from healthcode.testing import ApiClient

pytestmark = pytest.mark.django_db


def test_it_lists_a_reviewers_unmasked_view_of_my_code(resident, reviewer, red_code):
    """The reviewer's view of the resident's full ID number is listed with role, organisation,
    time and what; the reviewer's view of someone else's code and the resident's own view are
    not."""
    code = resident.health_codes.get()
    reveal_id_number(code=code, viewer=reviewer)
    reveal_id_number(code=red_code, viewer=reviewer)  # another person's data
    reveal_id_number(code=code, viewer=resident)  # my own look at my own number

    r = ApiClient(resident).get("/me/data-views")
    assert r.status_code == 200
    items = r.json()["items"]
    assert len(items) == 1
    item = items[0]
    assert item["action"] == "unmasked_view"
    assert item["roles"] == ["reviewer"]
    assert item["role_labels"] == ["审核员"]
    assert item["organisation"] == REVIEWER_ORGANISATION
    assert item["code"] == str(code.public_id)
    assert item["code_name"] == "孙*民"
    assert item["what"] == "查看了完整身份证号"
    assert item["at"]
    assert item["viewer"] == "138****0201"
    assert reviewer.phone not in r.content.decode()

    other = ApiClient(red_code.account).get("/me/data-views").json()["items"]
    assert len(other) == 1 and other[0]["code"] == str(red_code.public_id)


def test_it_lists_views_of_family_members_codes(resident, reviewer):
    """A family member's code held by the account is the account's data too."""
    from healthcode.codes.services import declare
    from healthcode.testing import declaration, id_number

    family = declare(
        account=resident,
        data=declaration(name="孙奶奶", id_number=id_number(seq=778), phone="13700000778"),
    )
    reveal_id_number(code=family, viewer=reviewer)
    items = ApiClient(resident).get("/me/data-views").json()["items"]
    assert [i["code"] for i in items] == [str(family.public_id)]


def test_it_lists_an_enterprise_export_that_includes_me(employee, manager, acme, resident):
    """An export of acme's employee roster appears for the employee (organisation = acme,
    role = enterprise manager), not for a resident who is not employed there."""
    export_employees(actor=manager, enterprise=acme, fmt="csv")
    items = ApiClient(employee).get("/me/data-views").json()["items"]
    assert len(items) == 1
    assert items[0]["action"] == "export"
    assert items[0]["roles"] == ["enterprise_manager"]
    assert items[0]["organisation"] == acme.name
    assert items[0]["code"] is None
    assert ApiClient(resident).get("/me/data-views").json()["items"] == []


def test_it_shows_the_page(resident, reviewer, red_code):
    """/messages/views shows the table with role, organisation and a masked viewer phone."""
    code = resident.health_codes.get()
    reveal_id_number(code=code, viewer=reviewer)
    reveal_id_number(code=red_code, viewer=reviewer)
    client = Client()
    client.force_login(resident)
    r = client.get("/messages/views")
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="data-views"' in html
    assert html.count('id="view-') == 1
    assert REVIEWER_ORGANISATION in html and "审核员" in html
    assert "138****0201" in html and reviewer.phone not in html
    assert "钱*红" not in html


def test_it_shows_an_empty_page(resident):
    """Nobody viewed anything: an empty state, no table."""
    client = Client()
    client.force_login(resident)
    html = client.get("/messages/views").content.decode()
    assert 'id="data-views-empty"' in html and 'id="data-views"' not in html


def test_it_lists_unmasked_roster_pages_and_exports_that_held_my_code(resident, city_admin):
    """A city admin's unmasked roster page and unmasked roster export both held the resident's
    code: both are listed; a masked page is not."""
    from healthcode.testing import AdminApiClient

    admin = AdminApiClient(city_admin)
    assert admin.get("/admin/roster?page_size=100").status_code == 200  # masked: not a view
    assert ApiClient(resident).get("/me/data-views").json()["items"] == []

    assert admin.get("/admin/roster?page_size=100&unmask=1").status_code == 200
    export = admin.get("/admin/roster/export?format=csv&unmask=1")
    assert export.status_code == 200
    b"".join(export.streaming_content)

    items = ApiClient(resident).get("/me/data-views").json()["items"]
    assert sorted(i["action"] for i in items) == ["export", "unmasked_view"]
    assert all(i["viewer"] != city_admin.phone for i in items)


def test_it_does_not_list_roster_views_that_did_not_hold_my_code(resident, other_district_admin):
    """A district admin of another district never had the resident's code on a page."""
    from healthcode.testing import AdminApiClient

    r = AdminApiClient(other_district_admin).get("/admin/roster?page_size=100&unmask=1")
    assert r.status_code == 200
    assert ApiClient(resident).get("/me/data-views").json()["items"] == []
