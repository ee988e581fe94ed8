"""The production deployment, end to end (docs/deploy.md): gunicorn with deploy/gunicorn.conf.py
and two workers, a freshly migrated PostgreSQL database, Redis for the cache and rate limits,
production settings (no debug, secrets from *_FILE, JSON logs), all on loopback, over real HTTP.

PostgreSQL is the test run's cluster when DATABASE_URL names one (scripts/test.sh's deploy
phase), else a cluster of its own (scripts/pg.sh); every process started here is stopped.
The tests run in file order: the last two stop Redis and then gunicorn.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from healthcode.ops.tests.servers import REDIS_SERVER, RedisServer, free_port, wait_for_port
from healthcode.testing import declaration, id_number

pytestmark = pytest.mark.deploy

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
CHECKIN_LIMIT = 5
HEALTHY = {"temperature": 36.6, "symptoms": [], "in_nanning": True, "new_contact": False}


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Deployment:
    base_url: str
    workdir: Path
    log: Path
    sms: Path
    metrics_token: str
    redis: RedisServer
    gunicorn: subprocess.Popen[bytes]
    phones: list[str] = field(default_factory=list)

    def request(self, method: str, path: str, body: Any = None, token: str | None = None,
                headers: dict[str, str] | None = None) -> Response:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        for name, value in (headers or {}).items():
            req.add_header(name, value)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return Response(r.status, dict(r.headers.items()), r.read())
        except urllib.error.HTTPError as e:
            return Response(e.code, dict(e.headers.items()), e.read())

    def log_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def login(self, phone: str) -> str:
        """The resident's login through the API: a code by SMS (the file backend), a token."""
        self.phones.append(phone)
        assert self.request("POST", "/api/v1/auth/otp", {"phone": phone}).status == 202
        texts = [json.loads(line) for line in self.sms.read_text().splitlines()]
        text = [t["text"] for t in texts if t["to"] == phone][-1]
        code = re.search(r"(?<![0-9])([0-9]{6})(?![0-9])", text).group(1)
        r = self.request("POST", "/api/v1/auth/token", {"phone": phone, "code": code})
        assert r.status == 200, r.body
        return r.json()["token"]

    def declare(self, token: str, seq: int) -> str:
        r = self.request("POST", "/api/v1/codes", declaration(id_number=id_number(seq=seq)), token)
        assert r.status == 201, r.body
        return r.json()["id"]

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        r = self.request("GET", "/metrics", token=self.metrics_token)
        assert r.status == 200, r.status
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.body.decode())
            for s in family.samples
        }


def requests_total(samples: dict, route: str, method: str, status: str) -> float:
    key = ("healthcode_http_requests_total",
           (("method", method), ("route", route), ("status", status)))
    return samples.get(key, 0.0)


def _secret_file(directory: Path, name: str, value: str) -> str:
    path = directory / name
    path.write_text(value + "\n")
    path.chmod(0o600)
    return str(path)


def _key() -> str:
    import base64
    import secrets

    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


class Database:
    """A fresh database on the test run's PostgreSQL, or on a cluster of our own."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.cluster_env: dict[str, str] | None = None
        self.admin_url = os.environ.get("DATABASE_URL", "")
        self.name = f"healthcode_deploy_{os.getpid()}"

    def create(self) -> str:
        if not self.admin_url.startswith(("postgres://", "postgresql://")):
            if not (PG_BIN / "initdb").exists():
                pytest.skip(f"no PostgreSQL 15 at {PG_BIN}")
            self.cluster_env = {**os.environ, "HEALTHCODE_PG_DIR": str(self.workdir / "pg")}
            subprocess.run([ROOT / "scripts" / "pg.sh", "start"], env=self.cluster_env, check=True)
            self.admin_url = subprocess.run(
                [ROOT / "scripts" / "pg.sh", "url"], env=self.cluster_env, check=True,
                capture_output=True, text=True,
            ).stdout.strip()
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}"')
            conn.execute(f'CREATE DATABASE "{self.name}"')
        return self.admin_url.rsplit("/", 1)[0] + "/" + self.name

    def drop(self) -> None:
        if self.cluster_env is not None:
            subprocess.run([ROOT / "scripts" / "pg.sh", "stop"], env=self.cluster_env, check=False)
            return
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    if not os.access(REDIS_SERVER, os.X_OK):
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    workdir = Path(tmp_path_factory.mktemp("deploy"))
    secrets_dir = workdir / "credentials"
    secrets_dir.mkdir(mode=0o700)
    database = Database(workdir)
    redis_server = RedisServer(workdir / "redis")
    gunicorn: subprocess.Popen[bytes] | None = None
    log_file = None
    try:
        database_url = database.create()
        redis_server.start()
        port = free_port()
        metrics_token = uuid.uuid4().hex
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "HOME": str(workdir),
            "DJANGO_SETTINGS_MODULE": "healthcode.settings",
            # Production: no debug, no testing mode; every secret from a file (systemd's
            # LoadCredential= gives the service such files).
            "HEALTHCODE_DEBUG": "0",
            "DATABASE_URL_FILE": _secret_file(secrets_dir, "database-url", database_url),
            "HEALTHCODE_SECRET_KEY_FILE": _secret_file(secrets_dir, "secret-key", _key() + _key()),
            "HEALTHCODE_FIELD_KEYS_FILE": _secret_file(secrets_dir, "field-keys", f"k1:{_key()}"),
            "HEALTHCODE_BLIND_INDEX_KEY_FILE": _secret_file(secrets_dir, "blind-index", _key()),
            "HEALTHCODE_KEY_ENCRYPTION_KEY_FILE": _secret_file(secrets_dir, "kek", _key()),
            "HEALTHCODE_METRICS_TOKEN_FILE": _secret_file(secrets_dir, "metrics", metrics_token),
            "HEALTHCODE_REDIS_URL": redis_server.url,
            "HEALTHCODE_DB_CONN_MAX_AGE": "60",
            "HEALTHCODE_VAR_DIR": str(workdir / "var"),
            "HEALTHCODE_STATIC_ROOT": str(workdir / "static"),
            "HEALTHCODE_STATIC_MANIFEST": "1",
            "HEALTHCODE_SMS_BACKEND": "file",
            "HEALTHCODE_SMS_FILE": str(workdir / "sms.jsonl"),
            "HEALTHCODE_LOG_FORMAT": "json",
            "HEALTHCODE_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": "2",
            "PROMETHEUS_MULTIPROC_DIR": str(workdir / "metrics"),
            "HEALTHCODE_RATE_CHECKIN_ACCOUNT": f"{CHECKIN_LIMIT}/h",
        }
        # What a deploy runs before starting the new code (docs/deploy.md).
        for command in (["migrate", "--no-input"], ["collectstatic", "--no-input"]):
            done = subprocess.run(
                [sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True,
                text=True,
            )
            assert done.returncode == 0, done.stdout + done.stderr
        log = workdir / "gunicorn.log"
        log_file = open(log, "wb")  # noqa: SIM115 — closed in finally
        gunicorn = subprocess.Popen(
            [VENV_BIN / "gunicorn", "-c", "deploy/gunicorn.conf.py"],
            cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(port, timeout=30)
        except TimeoutError:
            pytest.fail(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
        yield Deployment(
            base_url=f"http://127.0.0.1:{port}", workdir=workdir, log=log,
            sms=workdir / "sms.jsonl", metrics_token=metrics_token, redis=redis_server,
            gunicorn=gunicorn,
        )
    finally:
        if gunicorn is not None:
            _stop(gunicorn)
        if log_file is not None:
            log_file.close()
        redis_server.stop()
        database.drop()


def test_it_answers_the_probes(deployment: Deployment) -> None:
    assert deployment.request("GET", "/livez").json() == {"status": "ok"}
    assert deployment.request("GET", "/healthz").status == 200
    r = deployment.request("GET", "/readyz")
    assert (r.status, r.json()) == (200, {
        "status": "ok", "checks": {"database": "ok", "migrations": "ok", "cache": "ok"},
    })


def test_it_serves_static_files_under_hashed_names_cached_for_a_year(
    deployment: Deployment,
) -> None:
    page = deployment.request("GET", "/accounts/login")
    assert page.status == 200
    match = re.search(r'href="(/static/front/site\.[0-9a-f]{12}\.css)"', page.body.decode())
    assert match, page.body.decode()[:500]
    r = deployment.request("GET", match.group(1))
    assert r.status == 200
    assert "immutable" in r.headers["Cache-Control"]


def test_it_logs_a_resident_in_who_declares_and_is_scanned(deployment: Deployment) -> None:
    token = deployment.login("13800138000")
    code_id = deployment.declare(token, seq=101)
    r = deployment.request("GET", f"/api/v1/codes/{code_id}/qr", token=token)
    assert r.status == 200
    payload = r.json()["payload"]
    assert payload.startswith("NN1:")
    scanner = deployment.login("13900139000")
    r = deployment.request("POST", "/api/v1/scans", {"payload": payload}, scanner)
    assert r.status == 200, r.body
    assert {k: r.json()[k] for k in ("valid", "id", "color")} == {
        "valid": True, "id": code_id, "color": "green",
    }
    # Security headers come through gunicorn as they do in tests.
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]


def test_it_shares_rate_limits_across_workers_through_redis(deployment: Deployment) -> None:
    """Ten check-ins at once reach both workers; Redis counts them together, so exactly the
    limit (5 an hour per account) get through and the rest are 429 with Retry-After."""
    token = deployment.login("13700137000")
    code_id = deployment.declare(token, seq=102)
    if time.time() % 3600 > 3590:  # not across the hour's window boundary
        time.sleep(3601 - time.time() % 3600)
    before = deployment.metrics()
    request_ids = [f"throttle-{n}-{uuid.uuid4().hex[:8]}" for n in range(10)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(
            lambda rid: deployment.request(
                "POST", f"/api/v1/codes/{code_id}/checkins", HEALTHY, token,
                headers={"X-Request-ID": rid},
            ),
            request_ids,
        ))
    assert sorted(r.status for r in responses) == [201] * CHECKIN_LIMIT + [429] * 5
    for r in responses:
        if r.status == 429:
            assert 1 <= int(r.headers["Retry-After"]) <= 3600
            assert r.json()["error"] == "throttled"
            assert f"每个账号每小时最多 {CHECKIN_LIMIT} 次" in r.json()["detail"]
    # Both workers served some; one counter in Redis holds all ten.
    pids = {line["process"] for line in deployment.log_lines()
            if line.get("request_id") in request_ids and line["logger"] == "healthcode.request"}
    assert len(pids) == 2, pids
    client = redis.Redis.from_url(deployment.redis.url)
    (key,) = client.keys("healthcode:1:rl:checkin:account:*")
    assert int(client.get(key)) == 10
    assert 0 < client.ttl(key) <= 3601
    # And /metrics counted them across the workers.
    after = deployment.metrics()
    route = "api:create_checkin"
    assert requests_total(after, route, "POST", "2xx") - requests_total(before, route, "POST", "2xx") == 5
    assert requests_total(after, route, "POST", "4xx") - requests_total(before, route, "POST", "4xx") == 5


def test_it_serves_metrics_to_the_monitoring_token_only(deployment: Deployment) -> None:
    assert deployment.request("GET", "/metrics").status == 404
    assert deployment.request("GET", "/metrics", token="not-the-token").status == 404
    before = deployment.metrics()
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(lambda _: deployment.request("GET", "/livez").status, range(12)))
    assert statuses == [200] * 12
    after = deployment.metrics()
    assert requests_total(after, "livez", "GET", "2xx") - requests_total(before, "livez", "GET", "2xx") == 12
    latency = ("healthcode_http_request_duration_seconds_count", (("method", "GET"), ("route", "livez")))
    assert after[latency] - before.get(latency, 0) == 12


def test_it_writes_json_log_lines_with_the_request_id(deployment: Deployment) -> None:
    request_id = f"deploy-{uuid.uuid4().hex}"
    r = deployment.request("GET", "/readyz?token=SHOULD-NOT-BE-LOGGED",
                           headers={"X-Request-ID": request_id})
    assert r.status == 200
    assert r.headers["X-Request-ID"] == request_id
    lines = deployment.log_lines()  # every line parses: gunicorn's own lines are JSON too
    assert any(line["logger"] == "gunicorn.error" for line in lines)
    (line,) = [line for line in lines if line.get("request_id") == request_id]
    assert {k: line[k] for k in ("logger", "method", "path", "route", "status")} == {
        "logger": "healthcode.request", "method": "GET", "path": "/readyz", "route": "readyz",
        "status": 200,
    }
    text = deployment.log.read_text()
    assert "SHOULD-NOT-BE-LOGGED" not in text
    for phone in deployment.phones:
        assert phone not in text


def test_it_reports_redis_down_and_keeps_serving(deployment: Deployment) -> None:
    deployment.redis.stop()
    r = deployment.request("GET", "/readyz")
    assert (r.status, r.json()) == (503, {
        "status": "unavailable",
        "checks": {"database": "ok", "migrations": "ok", "cache": "failed: ConnectionError"},
    })
    # Rate limits let requests through rather than failing them.
    token = deployment.login("13600136000")
    code_id = deployment.declare(token, seq=103)
    r = deployment.request("POST", f"/api/v1/codes/{code_id}/checkins", HEALTHY, token)
    assert r.status == 201, r.body


def test_it_stops_gracefully_on_sigterm(deployment: Deployment) -> None:
    deployment.gunicorn.send_signal(signal.SIGTERM)
    assert deployment.gunicorn.wait(timeout=40) == 0
    messages = [line["message"] for line in deployment.log_lines()]
    assert any(m.startswith("Shutting down: Master") for m in messages), messages[-5:]
