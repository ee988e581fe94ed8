"""Who may see the statistics (统计), and the dashboard page /backoffice/stats.

The role × endpoint matrix covers every statistics call and the page for the city admin, a
district admin of its own district (450103) and of another (450102), an industry admin, a
reviewer (of 450103: reviewers read the statistics of the district they review), an
enterprise manager, a resident and an anonymous caller. Each authority sees its own scope."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils import timezone

from healthcode.backoffice.models import AdminRole
from healthcode.backoffice.tests.test_stats_figures import seed
from healthcode.testing import AdminApiClient, backoffice_client, make_user

API = [
    "/admin/stats/colour-by-district",
    "/admin/stats/colour-by-industry",
    "/admin/stats/trend",
    "/admin/stats/trend?days=7",
    "/admin/stats/checkins",
    "/admin/stats/checkins?days=30",
    "/admin/stats/reports",
    "/admin/stats/reports?day=2020-02-21",
]
PAGE = "/backoffice/stats"

# persona -> (API status, page status, the districts it sees in colour × district)
EXPECTED = {
    "city_admin": (200, 200, {"450102", "450103", "450107"}),
    "district_admin": (200, 200, {"450103"}),
    "other_district_admin": (200, 200, {"450102"}),
    "industry_admin": (200, 200, {"450102", "450103"}),
    "reviewer": (200, 200, {"450103"}),
    "manager": (403, 403, None),
    "resident": (403, 403, None),
    "anonymous": (401, 302, None),
}


@pytest.fixture
def other_district_admin(db):
    """A district admin of 兴宁区 (450102), not of the personas' 青秀区."""
    user = make_user("13800000110")
    AdminRole.objects.create(user=user, kind="district_admin", district_id="450102")
    return user


@pytest.fixture
def reviewer(db):
    """A reviewer of 青秀区 (450103)."""
    user = make_user("13800000111")
    AdminRole.objects.create(user=user, kind="reviewer", district_id="450103")
    return user


@pytest.fixture
def personas(city_admin, district_admin, other_district_admin, industry_admin, reviewer,
             manager, acme, resident):  # fmt: skip
    seed()
    return {
        "city_admin": city_admin,
        "district_admin": district_admin,
        "other_district_admin": other_district_admin,
        "industry_admin": industry_admin,
        "reviewer": reviewer,
        "manager": manager,
        "resident": resident,
        "anonymous": None,
    }


@pytest.mark.parametrize("who", list(EXPECTED))
def test_it_authorises_every_statistics_call_by_role(personas, who):
    """Every call answers an authority of any kind in its scope; an account without a
    back-office role gets 403 `not_an_admin`; an anonymous caller 401."""
    api_status, _, districts = EXPECTED[who]
    client = AdminApiClient(personas[who])
    for path in API:
        response = client.get(path)
        assert response.status_code == api_status, (who, path, response.content)
        if api_status == 403:
            assert response.json()["error"] == "not_an_admin"
        if api_status == 401:
            assert response.json()["error"] == "unauthorized"
    if districts is not None:
        rows = client.get("/admin/stats/colour-by-district").json()["rows"]
        assert {r["district"] for r in rows} == districts


@pytest.mark.parametrize("who", list(EXPECTED))
def test_it_authorises_the_dashboard_page_by_role(personas, who):
    """The page opens for every authority; an account without a role gets 403; an anonymous
    visitor goes to the back-office login."""
    _, page_status, districts = EXPECTED[who]
    user = personas[who]
    client = backoffice_client(user) if user is not None else Client()
    response = client.get(PAGE)
    assert response.status_code == page_status, who
    if page_status == 302:
        assert response["Location"].startswith("/backoffice/login")
        assert "next=/backoffice/stats" in response["Location"]
    if districts is not None:
        shown = set(re.findall(r'id="district-(\d{6})"', response.content.decode()))
        assert shown == districts


def test_it_needs_the_back_office_login_for_the_page(city_admin):
    """A session that did not pass the back-office login (password + second factor) is sent
    to it, even for a city admin."""
    client = Client()
    client.force_login(city_admin)
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/backoffice/login")


def test_it_refuses_other_methods_on_the_page(city_admin):
    """The page only reads."""
    assert backoffice_client(city_admin).post(PAGE).status_code == 405


def test_it_answers_the_api_from_a_back_office_session(city_admin):
    """stats.js calls the API with the page's session (no token)."""
    response = backoffice_client(city_admin).get("/api/v1/admin/stats/colour-by-district")
    assert response.status_code == 200
    plain = Client()
    plain.force_login(city_admin)  # logged in, but not through the back-office login
    assert plain.get("/api/v1/admin/stats/colour-by-district").status_code == 401


# --- The page ------------------------------------------------------------------------------------


def test_it_renders_the_charts_and_their_tables(personas):
    """Five chart containers, the scripts (vendored ECharts, stats.js; no inline script), the
    API addresses for stats.js, and the data tables with the figures linking to the roster."""
    response = backoffice_client(personas["city_admin"]).get(PAGE)
    html = response.content.decode()
    for name in ("district", "industry", "trend", "checkins", "reports"):
        assert f'id="chart-{name}"' in html
        assert f'id="table-{name}"' in html
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert "backoffice/vendor/echarts.min.js" in html
    assert "backoffice/stats.js" in html
    assert 'data-api-district="/api/v1/admin/stats/colour-by-district"' in html
    assert 'data-api-trend="/api/v1/admin/stats/trend?days=30"' in html
    assert 'data-api-checkins="/api/v1/admin/stats/checkins?days=14"' in html
    today = timezone.localdate().isoformat()
    assert f'data-api-reports="/api/v1/admin/stats/reports?day={today}"' in html
    assert 'data-roster-url="/backoffice/roster"' in html

    context = response.context
    qingxiu = next(r for r in context["by_district"]["rows"] if r["district"] == "450103")
    # the personas' own green codes live in 450103 too
    assert (qingxiu["green"], qingxiu["yellow"], qingxiu["red"]) == (3 + 5, 2, 1)
    red = next(c for c in qingxiu["cells"] if c["color"] == "red")
    assert red["url"] == "/backoffice/roster?district=450103&color=red"
    assert 'href="/backoffice/roster?district=450103&amp;color=red"' in html
    manufacturing = next(r for r in context["by_industry"]["rows"] if r["industry"] == "C")
    assert manufacturing["url"] == "/backoffice/roster?industry=C"
    assert 'href="/backoffice/roster?color=yellow"' in html  # the trend's colours
    assert f'href="/enterprises/oversight/reports?day={today}"' in html
    assert len(context["trend"]["rows"]) == 30
    assert len(context["checkins"]["rows"]) == 14


def test_it_shows_a_reviewer_figures_without_links(personas):
    """A reviewer reads its district's figures; the roster is not for reviewers, so nothing
    links there."""
    html = backoffice_client(personas["reviewer"]).get(PAGE).content.decode()
    assert 'id="district-450103"' in html
    assert "/backoffice/roster" not in html
    assert "/enterprises/oversight/reports" not in html
    assert 'data-roster-url=""' in html


def test_it_takes_the_days_and_the_day_from_the_query(personas):
    """`days`, `checkin_days` and `day` choose the periods; the API addresses follow."""
    client = backoffice_client(personas["city_admin"])
    response = client.get(PAGE, {"days": "7", "checkin_days": "3", "day": "2020-02-21"})
    assert response.status_code == 200
    assert len(response.context["trend"]["rows"]) == 7
    assert len(response.context["checkins"]["rows"]) == 3
    assert response.context["reports"]["day"].isoformat() == "2020-02-21"
    html = response.content.decode()
    assert 'data-api-trend="/api/v1/admin/stats/trend?days=7"' in html
    assert 'data-api-reports="/api/v1/admin/stats/reports?day=2020-02-21"' in html


@pytest.mark.parametrize(
    "params, field",
    [
        ({"days": "0"}, "days"),
        ({"days": "91"}, "days"),
        ({"checkin_days": "abc"}, "checkin_days"),
        ({"day": "2020-13-01"}, "day"),
    ],
)
def test_it_explains_bad_query_values_on_the_page(city_admin, params, field):
    """A bad value is explained next to its field and the default is used."""
    response = backoffice_client(city_admin).get(PAGE, params)
    assert response.status_code == 200
    assert f'id="error-{field}"' in response.content.decode()
    assert len(response.context["trend"]["rows"]) == 30
    assert len(response.context["checkins"]["rows"]) == 14


def test_it_serves_echarts_from_our_static_files():
    """ECharts is vendored (no CDN), with its licence."""
    script = finders.find("backoffice/vendor/echarts.min.js")
    assert script is not None
    with open(script, encoding="utf-8") as handle:
        assert 't.version="6.1.0"' in handle.read()
    assert finders.find("backoffice/vendor/echarts.LICENSE") is not None
    assert finders.find("backoffice/stats.js") is not None
