"""The role × endpoint matrix of the roster and its exports: every API call and page, for a
city admin, the admin of 青秀区 (450103, whose roster is asked for) and of 兴宁区 (450102), an
industry admin (工信局), a reviewer of 450103, an enterprise manager, a resident and an
anonymous caller. Each call asks for `district=450103`: the answer's rows show the scope."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from healthcode.backoffice.tests.test_roster_fixtures import *  # noqa: F403
from healthcode.codes.models import HealthCode
from healthcode.testing import AdminApiClient, backoffice_client

pytestmark = pytest.mark.django_db

Q = "district=450103"
PERSONAS = [
    "city_admin",
    "district_admin",
    "other_district_admin",
    "industry_admin",
    "reviewer",
    "manager",
    "resident",
    "anonymous",
]
ADMINS = {"city_admin", "district_admin", "other_district_admin", "industry_admin"}


def expected_rows() -> dict[str, int]:
    """Rows of 450103 each authority may see: all of them (the district's admin, the city),
    none (the other district), acme's two employees living there (工信局)."""
    everyone = HealthCode.objects.filter(district_id="450103").count()
    return {"city_admin": everyone, "district_admin": everyone, "other_district_admin": 0,
            "industry_admin": 2}  # fmt: skip


@pytest.fixture(autouse=True)
def jobs_in_tmp(settings, tmp_path):
    settings.HEALTHCODE_JOBS_DIR = str(tmp_path / "jobs")


@pytest.fixture
def someone(request, world, district_admin, other_district_admin, reviewer):
    if request.param == "anonymous":
        return None
    return request.getfixturevalue(request.param)


@pytest.fixture
def job_id(district_admin, world, django_capture_on_commit_callbacks) -> int:
    """A finished export job of 青秀区's admin."""
    with django_capture_on_commit_callbacks(execute=True):
        response = AdminApiClient(district_admin).post(
            "/admin/roster/export-jobs", {"format": "csv"}
        )
    return response.json()["job"]["id"]


def csv_count(response) -> int:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return len(list(csv.reader(io.StringIO(text)))) - 2


def denied(role: str | None) -> int:
    """What a non-authority gets from the API: 401 without a back-office login, 403 with one
    but no roster role (reviewers, managers, residents)."""
    return 401 if role is None else 403


@pytest.mark.parametrize("someone", PERSONAS, indirect=True)
def test_the_api_matrix(someone, request, job_id, django_capture_on_commit_callbacks):
    """Authorities get their scope; others 401/403; jobs are their requester's alone (404)."""
    role = request.node.callspec.params["someone"]
    role = None if role == "anonymous" else role
    client = AdminApiClient(someone)
    rows = expected_rows()

    response = client.get(f"/admin/roster?{Q}")
    if role in ADMINS:
        assert response.status_code == 200
        assert response.json()["count"] == rows[role]
    else:
        assert response.status_code == denied(role)

    response = client.get(f"/admin/roster/export?format=csv&{Q}")
    if role in ADMINS:
        assert response.status_code == 200 and csv_count(response) == rows[role]
    else:
        assert response.status_code == denied(role)

    response = client.get(f"/admin/roster/stats-export?format=csv&{Q}")
    assert response.status_code == (200 if role in ADMINS else denied(role))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/roster/export-jobs", {"format": "csv", "district": "450103"})
    if role in ADMINS:
        assert response.status_code == 202
        own = response.json()["job"]["id"]
        assert client.get(f"/admin/jobs/{own}").json()["job"]["status"] == "done"
        download = client.get(f"/admin/jobs/{own}/download")
        assert download.status_code == 200 and csv_count(download) == rows[role]
    else:
        assert response.status_code == denied(role)

    # 青秀区's admin's job: its requester's alone; any other admin (reviewer too) gets 404.
    expected = {"district_admin": 200, None: 401, "manager": 403, "resident": 403}.get(role, 404)
    assert client.get(f"/admin/jobs/{job_id}").status_code == expected
    assert client.get(f"/admin/jobs/{job_id}/download").status_code == expected


@pytest.mark.parametrize("someone", PERSONAS, indirect=True)
def test_the_page_matrix(someone, request, job_id, django_capture_on_commit_callbacks):
    """The same on the pages: the back-office login first (302), 403 without a roster role,
    404 for another account's job."""
    role = request.node.callspec.params["someone"]
    client = Client() if someone is None else backoffice_client(someone)
    rows = expected_rows()

    def expect_denied(response) -> None:
        if someone is None:
            assert response.status_code == 302 and "/backoffice/login" in response["Location"]
        else:
            assert response.status_code == 403

    response = client.get(f"/backoffice/roster?{Q}")
    if role in ADMINS:
        assert response.status_code == 200 and response.context["page"].count == rows[role]
    else:
        expect_denied(response)

    response = client.get(f"/backoffice/roster/export?format=csv&{Q}")
    if role in ADMINS:
        assert response.status_code == 200 and csv_count(response) == rows[role]
    else:
        expect_denied(response)

    response = client.get(f"/backoffice/roster/stats-export?format=xlsx&{Q}")
    if role in ADMINS:
        assert response.status_code == 200
    else:
        expect_denied(response)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/backoffice/roster/export-job", {"format": "csv", "district": "450103"}
        )
    if role in ADMINS:
        assert response.status_code == 302 and "job=" in response["Location"]
    else:
        expect_denied(response)

    response = client.get(f"/backoffice/roster/jobs/{job_id}/download")
    if role == "district_admin":
        assert response.status_code == 200
    elif role in ADMINS or role == "reviewer":
        assert response.status_code == 404
    else:
        expect_denied(response)
