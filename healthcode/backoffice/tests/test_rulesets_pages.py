"""The rule-set pages under /backoffice/rulesets: the rule set in force as JSON in the editor,
validation errors per rule and field, the dry run's progress and counts, publication of
exactly the dry-run data and the re-derivation's progress; and the role × page matrix."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from healthcode.codes import rulesets_store
from healthcode.codes.models import ColorChange, RuleSetVersion
from healthcode.codes.tests.test_rulesets_store import candidate, seed_codes
from healthcode.jobs.models import Job
from healthcode.testing import backoffice_client

from .test_rulesets_api import (  # noqa: F401
    ADMINS,
    PERSONAS,
    _fresh_rule_set_cache,
    actor,
    other_district_admin,
    rules_reviewer,
)

pytestmark = pytest.mark.django_db

WRITES = {"dry-run", "publish"}


def text(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


def test_it_shows_the_rule_set_in_force_in_the_editor(city_admin):
    """The city admin sees the data as formatted JSON, the note, dry run and a disabled
    publish button."""
    r = backoffice_client(city_admin).get("/backoffice/rulesets")
    assert r.status_code == 200
    html = r.content.decode()
    for element in (
        'id="id_data"',
        'id="id_note"',
        'id="dry-run"',
        'id="publish"',
        'id="ruleset-in-force"',
        "nanning-2020@1",
        "backoffice/rulesets.js",
    ):
        assert element in html, element
    shown = json.loads(r.context["data_text"])
    assert shown == rulesets_store.rule_set_in_force().to_dict()
    assert not r.context.get("may_publish")
    assert "<script>" not in html  # no inline script


def test_it_shows_other_admins_the_rule_set_read_only(district_admin):
    """Other admins see the rule set and the history, not the editor."""
    r = backoffice_client(district_admin).get("/backoffice/rulesets")
    assert r.status_code == 200
    html = r.content.decode()
    assert 'id="ruleset-readonly"' in html and 'id="id_data"' not in html


def test_it_lists_errors_per_rule_and_field_and_publishes_nothing(city_admin):
    """Invalid data: 400 with each error naming its rule and field; the text is kept;
    nothing is started or published. Text that is not JSON says so."""
    client = backoffice_client(city_admin)
    data = candidate(**{"440000": "purple"})
    data["rules"]["contact"]["observation_days"] = "14"
    r = client.post("/backoffice/rulesets/dry-run", {"data": text(data)})
    assert r.status_code == 400
    html = r.content.decode()
    assert 'id="ruleset-errors"' in html
    wheres = {e["where"] for e in r.context["errors"]}
    assert {"return_region.regions[1].color", "contact.observation_days"} <= wheres
    assert '"purple"' in r.context["data_text"]
    r = client.post("/backoffice/rulesets/dry-run", {"data": "{not json"})
    assert r.status_code == 400 and "JSON" in r.context["errors"][0]["message"]
    assert not Job.objects.exists() and not RuleSetVersion.objects.exists()


def test_it_dry_runs_and_publishes_from_the_page(city_admin, django_capture_on_commit_callbacks):
    """Dry run → the counts by colour and district, publish enabled for exactly that data;
    edited data is refused; publishing stores the version and re-derives every code."""
    seeded = seed_codes()
    client = backoffice_client(city_admin)
    data = candidate()
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/backoffice/rulesets/dry-run", {"data": text(data), "note": ""})
    assert r.status_code == 302
    job = Job.objects.get(kind="rule_dry_run")
    assert r["Location"].endswith(f"/backoffice/rulesets?dry_run={job.pk}")

    r = client.get(r["Location"])
    html = r.content.decode()
    assert 'id="dry-run-result"' in html and 'id="dry-run-by-district"' in html
    assert r.context["may_publish"] is True
    assert json.loads(r.context["data_text"]) == data
    matrix = {
        row["color"]: {c["color"]: c["count"] for c in row["cells"]}
        for row in r.context["dry_run_matrix"]
    }
    assert matrix["yellow"]["red"] == 3 and matrix["green"]["green"] >= 3
    assert [
        (d["district"], d["from"], d["to"], d["count"]) for d in r.context["dry_run_by_district"]
    ] == [("450102", "yellow", "red", 1), ("450103", "yellow", "red", 2)]
    assert 'data-district="450103"' in html

    edited = candidate(**{"440000": "red", "430000": "red"})
    r = client.post(
        "/backoffice/rulesets/publish", {"data": text(edited), "note": "", "dry_run_job": job.pk}
    )
    assert r.status_code == 400 and 'id="ruleset-errors"' in r.content.decode()
    assert {e["field"] for e in r.context["errors"]} == {"dry_run_job"}
    assert not RuleSetVersion.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(
            "/backoffice/rulesets/publish",
            {"data": text(data), "note": "广东红码", "dry_run_job": job.pk},
        )
    assert r.status_code == 302, r.content
    rederive = Job.objects.get(kind="rederive_all")
    assert r["Location"].endswith(f"?rederive={rederive.pk}")
    version = RuleSetVersion.objects.get()
    assert (version.version, version.note) == (2, "广东红码")
    assert ColorChange.objects.filter(cause="rule_set").count() == len(seeded["guangdong"])

    r = client.get(r["Location"])
    html = r.content.decode()
    assert 'id="rederive-progress"' in html and "nanning-2020@2" in html
    assert r.context["rederive_job"].status == "done"
    assert f'id="ruleset-version-{version.pk}"' in html

    r = client.get(f"/backoffice/rulesets/{version.pk}")
    assert r.status_code == 200 and 'id="ruleset-data"' in r.content.decode()
    assert json.loads(r.context["data_text"])["version"] == 2
    assert client.get(f"/backoffice/rulesets/{version.pk + 1}").status_code == 404


def test_it_shows_a_running_dry_run_with_its_progress(city_admin):
    """A dry run still running shows a progress bar that rulesets.js polls."""
    job = Job.objects.create(
        kind="rule_dry_run",
        status="running",
        total=10,
        done=4,
        requested_by=city_admin,
        params={"data": candidate(), "data_hash": "x", "rule_set": "nanning-2020@2"},
    )
    r = backoffice_client(city_admin).get(f"/backoffice/rulesets?dry_run={job.pk}")
    html = r.content.decode()
    assert 'id="job-progress"' in html
    assert f'data-job-url="/api/v1/admin/rulesets/jobs/{job.pk}"' in html
    assert 'id="dry-run-result"' not in html and not r.context.get("may_publish")


# --- Role × page matrix --------------------------------------------------------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_page_matrix(request, persona, city_admin, django_capture_on_commit_callbacks):
    """Reading pages: every admin 200. Dry run and publish: the city admin 302, other admins
    403. Accounts without a role 403; anonymous visitors the back-office login. Refused calls
    start and publish nothing."""
    data = candidate()
    version = RuleSetVersion.objects.create(rule_set_id=data["id"], version=2, data=data)
    rulesets_store.clear_cache()
    next_data = candidate(version=3, **{"440000": "red", "430000": "red"})
    with django_capture_on_commit_callbacks(execute=True):
        licence = rulesets_store.start_dry_run(actor=city_admin, data=next_data)
    jobs_before = Job.objects.count()

    user = actor(request, persona)
    client = backoffice_client(user) if user is not None else Client()
    reads = [
        ("index", client.get("/backoffice/rulesets")),
        ("version", client.get(f"/backoffice/rulesets/{version.pk}")),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        writes = [
            ("dry-run", client.post("/backoffice/rulesets/dry-run", {"data": text(next_data)})),
            (
                "publish",
                client.post(
                    "/backoffice/rulesets/publish",
                    {"data": text(next_data), "note": "", "dry_run_job": licence.pk},
                ),
            ),
        ]
    for name, r in reads + writes:
        if persona == "anonymous":
            assert r.status_code == 302 and "login" in r["Location"], name
        elif persona not in ADMINS:
            assert r.status_code == 403, (persona, name)
        elif name in WRITES and persona != "city_admin":
            assert r.status_code == 403, (persona, name)
        else:
            expected = 302 if name in WRITES else 200
            assert r.status_code == expected, (persona, name, r.status_code)
    if persona == "city_admin":
        assert RuleSetVersion.objects.filter(version=3).exists()
    else:
        assert RuleSetVersion.objects.count() == 1 and Job.objects.count() == jobs_before
