"""The rule-set API under /api/v1/admin/rulesets: reading the rule set in force and its
history, the dry run as a background job, publication after it, the re-derivation's progress;
and the role × endpoint matrix (city admin, district admin of 450103 and of 450102, industry
admin, reviewer, enterprise manager, resident, anonymous).

Every admin reads; only city admins run dry runs and publish (403 `city_admin_only` for other
admins); accounts without an admin role get 403 `not_an_admin`, anonymous callers 401."""

from __future__ import annotations

import pytest

from healthcode.backoffice.models import AdminRole
from healthcode.codes import rulesets_store
from healthcode.codes.models import ColorChange, HealthCode, RuleSetVersion
from healthcode.codes.tests.test_rulesets_store import candidate, seed_codes
from healthcode.jobs.models import Job
from healthcode.jobs.services import start_job
from healthcode.testing import AdminApiClient, make_user

pytestmark = pytest.mark.django_db

PERSONAS = (
    "city_admin",
    "district_admin",
    "other_district_admin",
    "industry_admin",
    "rules_reviewer",
    "manager",
    "resident",
    "anonymous",
)
ADMINS = {
    "city_admin",
    "district_admin",
    "other_district_admin",
    "industry_admin",
    "rules_reviewer",
}


@pytest.fixture(autouse=True)
def _fresh_rule_set_cache():
    rulesets_store.clear_cache()
    yield
    rulesets_store.clear_cache()


@pytest.fixture
def other_district_admin(db):
    """An admin of 兴宁区 (450102), another district than the personas'."""
    user = make_user("13800000420")
    AdminRole.objects.create(user=user, kind="district_admin", district_id="450102")
    return user


@pytest.fixture
def rules_reviewer(db):
    """A reviewer of 青秀区 (450103)."""
    user = make_user("13800000421")
    AdminRole.objects.create(user=user, kind="reviewer", district_id="450103")
    return user


def actor(request, persona: str):
    return None if persona == "anonymous" else request.getfixturevalue(persona)


def dry_run(client: AdminApiClient, data: dict, capture) -> int:
    with capture(execute=True):
        r = client.post("/admin/rulesets/dry-run", {"data": data})
    assert r.status_code == 202, r.content
    return r.json()["job"]


# --- Reading -------------------------------------------------------------------------------------


def test_it_shows_the_packaged_default_in_force_and_an_empty_history(city_admin):
    """Before any publication the default rule set is in force, with its data."""
    r = AdminApiClient(city_admin).get("/admin/rulesets")
    assert r.status_code == 200
    body = r.json()
    assert body["history"] == []
    in_force = body["in_force"]
    assert (in_force["rule_set_id"], in_force["version"], in_force["packaged"]) == (
        "nanning-2020",
        1,
        True,
    )
    assert in_force["data"]["rules"]["return_region"]["regions"][0]["code"] == "420000"


def test_it_shows_one_version_and_404_for_an_unknown_one(city_admin):
    """A published version with its data; an unknown id is 404."""
    data = candidate()
    version = RuleSetVersion.objects.create(
        rule_set_id=data["id"], version=2, data=data, note="测试", published_by=city_admin
    )
    client = AdminApiClient(city_admin)
    r = client.get(f"/admin/rulesets/{version.pk}")
    assert r.status_code == 200
    body = r.json()
    assert (body["version"], body["note"], body["data"]["version"]) == (2, "测试", 2)
    assert body["published_by"] == "138****0108"
    assert client.get(f"/admin/rulesets/{version.pk + 1}").status_code == 404


def test_it_shows_only_rule_set_jobs(city_admin):
    """Another kind of job (an export, say) is not found through this path."""
    other = Job.objects.create(kind="roster_export", params={}, requested_by=city_admin)
    assert AdminApiClient(city_admin).get(f"/admin/rulesets/jobs/{other.pk}").status_code == 404


# --- Dry run and publication ---------------------------------------------------------------------


def test_it_answers_400_naming_the_rule_and_field_and_starts_nothing(city_admin):
    """An invalid candidate: every error names its rule and field; no job, no version."""
    data = candidate(**{"440000": "purple"})
    del data["rules"]["symptoms"]["fever_threshold"]
    r = AdminApiClient(city_admin).post("/admin/rulesets/dry-run", {"data": data})
    assert r.status_code == 400
    errors = r.json()["errors"]["data"]
    assert any(e.startswith("return_region.regions[1].color:") for e in errors), errors
    assert any(e.startswith("symptoms.fever_threshold:") for e in errors), errors
    assert not Job.objects.exists() and not RuleSetVersion.objects.exists()


def test_it_answers_400_for_data_that_is_not_an_object(city_admin):
    """The body's data must be a JSON object."""
    r = AdminApiClient(city_admin).post("/admin/rulesets/dry-run", {"data": [1, 2]})
    assert r.status_code == 400 and "data" in r.json()["errors"]


def test_it_dry_runs_then_publishes_and_rederives(city_admin, django_capture_on_commit_callbacks):
    """The dry run counts the Guangdong codes (yellow → red, by district); publishing without
    it is 400; with it the version is stored and every code re-derived."""
    seeded = seed_codes()
    client = AdminApiClient(city_admin)
    data = candidate()
    job_id = dry_run(client, data, django_capture_on_commit_callbacks)
    r = client.get(f"/admin/rulesets/jobs/{job_id}")
    assert r.status_code == 200
    job = r.json()
    assert (job["kind"], job["status"], job["percent"]) == ("rule_dry_run", "done", 100)
    result = job["result"]
    assert result["changed"] == 3
    assert result["matrix"]["yellow"] == {"green": 0, "yellow": 0, "red": 3}
    assert {(d["district"], d["count"]) for d in result["by_district"]} == {
        ("450102", 1),
        ("450103", 2),
    }

    r = client.post("/admin/rulesets", {"data": data, "note": "广东红码"})
    assert r.status_code == 400 and "dry_run_job" in r.json()["errors"]
    edited = candidate(**{"440000": "red", "430000": "yellow"})
    r = client.post("/admin/rulesets", {"data": edited, "note": "", "dry_run_job": job_id})
    assert r.status_code == 400 and "dry_run_job" in r.json()["errors"]
    assert not RuleSetVersion.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(
            "/admin/rulesets", {"data": data, "note": "广东红码", "dry_run_job": job_id}
        )
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["version"]["version"], body["version"]["note"]) == (2, "广东红码")
    rederive = client.get(f"/admin/rulesets/jobs/{body['rederive_job']}").json()
    assert (rederive["kind"], rederive["status"]) == ("rederive_all", "done")
    assert rederive["result"]["changed"] == 3
    guangdong = {c.pk for c in seeded["guangdong"]}
    assert set(ColorChange.objects.filter(cause="rule_set").values_list("code_id", flat=True)) == (
        guangdong
    )
    assert set(HealthCode.objects.values_list("rule_set_version", flat=True)) == {2}

    overview = client.get("/admin/rulesets").json()
    assert overview["in_force"]["version"] == 2 and overview["in_force"]["packaged"] is False
    assert [v["version"] for v in overview["history"]] == [2]
    assert overview["history"][0]["dry_run"]["changed"] == 3

    # The same version cannot be published twice.
    again = dry_run(
        client, candidate(version=3, **{"430000": "red"}), django_capture_on_commit_callbacks
    )
    r = client.post("/admin/rulesets", {"data": data, "note": "", "dry_run_job": again})
    assert r.status_code == 400 and "data" in r.json()["errors"]


# --- Role × endpoint matrix ----------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_api_matrix(request, persona, city_admin, manager, django_capture_on_commit_callbacks):
    """Reads: every admin 200. Dry run and publication: the city admin 202/201, other admins
    403 city_admin_only. Accounts without a role 403 not_an_admin; anonymous 401. Refused
    calls start and publish nothing."""
    seed_codes()
    data = candidate()
    version = RuleSetVersion.objects.create(rule_set_id=data["id"], version=2, data=data)
    rulesets_store.clear_cache()
    job = start_job(kind=rulesets_store.REDERIVE_KIND, params={}, requested_by=city_admin)
    # A finished dry run of version 3, so that the city admin's publication succeeds.
    next_data = candidate(version=3, **{"440000": "red", "430000": "red"})
    licence = dry_run(AdminApiClient(city_admin), next_data, django_capture_on_commit_callbacks)
    jobs_before = Job.objects.count()

    user = actor(request, persona)
    client = AdminApiClient(user)
    reads = [
        ("overview", client.get("/admin/rulesets")),
        ("version", client.get(f"/admin/rulesets/{version.pk}")),
        ("job", client.get(f"/admin/rulesets/jobs/{job.pk}")),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        writes = [
            ("dry-run", client.post("/admin/rulesets/dry-run", {"data": next_data}), 202),
            (
                "publish",
                client.post(
                    "/admin/rulesets", {"data": next_data, "note": "", "dry_run_job": licence}
                ),
                201,
            ),
        ]
    calls = [(name, r, 200, False) for name, r in reads] + [
        (name, r, ok, True) for name, r, ok in writes
    ]
    for name, r, ok, city_only in calls:
        if persona == "anonymous":
            assert r.status_code == 401, name
        elif persona not in ADMINS:
            assert (r.status_code, r.json()["error"]) == (403, "not_an_admin"), (persona, name)
        elif persona == "city_admin" or not city_only:
            assert r.status_code == ok, (persona, name, r.content)
        else:
            assert (r.status_code, r.json()["error"]) == (403, "city_admin_only"), (persona, name)
    if persona == "city_admin":
        assert RuleSetVersion.objects.filter(version=3).exists()
    else:
        assert RuleSetVersion.objects.count() == 1 and Job.objects.count() == jobs_before
