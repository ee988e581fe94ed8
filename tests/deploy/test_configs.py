"""The deployment files that cannot run here are at least checked by their own tools: the
nginx site by `nginx -t` (when an nginx binary is on PATH or in $HEALTHCODE_NGINX), the systemd
units by `systemd-analyze verify` (when present), with the paths rewritten to this checkout."""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

pytestmark = pytest.mark.deploy

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
NGINX = os.environ.get("HEALTHCODE_NGINX") or shutil.which("nginx")
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


def _self_signed(directory: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hc.nanning.example.cn")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (directory / "fullchain.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "privkey.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))


@pytest.mark.skipif(not NGINX, reason="no nginx binary (PATH or $HEALTHCODE_NGINX)")
def test_it_has_an_nginx_site_that_nginx_accepts(tmp_path: Path) -> None:
    _self_signed(tmp_path)
    site = (
        (DEPLOY / "nginx" / "healthcode.conf").read_text()
        .replace("/etc/ssl/healthcode/", f"{tmp_path}/")
        .replace("/var/log/nginx/", f"{tmp_path}/")
    )
    (tmp_path / "healthcode.conf").write_text(site)
    temp_paths = "\n".join(
        f"    {kind}_temp_path {tmp_path}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n{temp_paths}\n    access_log off;\n    include {tmp_path}/healthcode.conf;\n}}\n"
    )
    done = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr
    assert "[warn]" not in done.stderr and "[emerg]" not in done.stderr, done.stderr


@pytest.mark.skipif(not SYSTEMD_ANALYZE, reason="no systemd-analyze")
def test_it_has_systemd_units_that_systemd_accepts(tmp_path: Path) -> None:
    venv_bin = Path(sys.executable).parent
    units = tmp_path / "units"
    shutil.copytree(DEPLOY / "systemd", units)
    for path in [*units.glob("*.service"), *units.glob("*.timer"), *units.glob("*.d/*.conf")]:
        path.write_text(
            path.read_text()
            .replace("/srv/healthcode/app/.venv/bin/", f"{venv_bin}/")
            .replace("/srv/healthcode/app", str(ROOT))
        )
    names = sorted(p.name for p in units.iterdir() if p.suffix in (".service", ".timer"))
    names = [n.replace("@.service", "@verify_audit_chain.service") for n in names]
    assert "healthcode-web.service" in names and "healthcode-sweep.timer" in names
    done = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", *names], cwd=units, capture_output=True,
        text=True, env={**os.environ, "SYSTEMD_UNIT_PATH": f"{units}:"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr
    # The shared drop-in (settings, secrets, hardening) applies to the units.
    shown = subprocess.run(
        [SYSTEMD_ANALYZE, "security", "--offline=yes", "healthcode-web.service"], cwd=units,
        capture_output=True, text=True, env={**os.environ, "SYSTEMD_UNIT_PATH": f"{units}:"},
    )
    assert "Service has strict read-only access to the OS file hierarchy" in shown.stdout
