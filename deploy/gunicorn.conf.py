"""Gunicorn configuration for the health-code app servers (docs/deploy.md).

    gunicorn -c deploy/gunicorn.conf.py healthcode.wsgi

Everything comes from the environment so that one file serves production (the systemd unit),
the deployment test and the benchmarks; command-line options (--bind, --workers) override it.

- HEALTHCODE_BIND: comma-separated addresses (default 127.0.0.1:8000; unix:/run/… works).
- WEB_CONCURRENCY: worker processes (default: one per core, see below).
- HEALTHCODE_THREADS: threads per worker (default 1: sync workers; >1 selects gthread).
- HEALTHCODE_MAX_REQUESTS: recycle a worker after about this many requests (default 5000).
- HEALTHCODE_TIMEOUT: seconds a worker may be silent before it is killed (default 30).
- HEALTHCODE_PRELOAD: load Django once in the master before forking (default on).
- HEALTHCODE_FORWARDED_ALLOW_IPS: proxies whose X-Forwarded-* gunicorn believes (default loopback).
- PROMETHEUS_MULTIPROC_DIR: where the workers' metrics live; a fresh temporary directory when unset.
- HEALTHCODE_LOG_FORMAT: json (default unless HEALTHCODE_DEBUG) or text, as for Django's logs.

Why these defaults:
- Sync workers, one per core. A request is CPU-bound Python (decode, verify, decide, render
  JSON) around a few short queries; nginx buffers slow clients and request bodies, so a sync
  worker never waits on the network for a client. With PostgreSQL on the same 2 cores, 5 sync
  workers (2×cores+1) served fewer scans/s than 2 (they only add context switches, memory and
  database connections). With the database across a network, a worker idles during each
  round trip: then raise WEB_CONCURRENCY (about 2×cores) or HEALTHCODE_THREADS and measure with
  `make bench`, keeping workers × servers under PostgreSQL's max_connections (or PgBouncer).
- max_requests (100,000) with jitter bounds slow leaks without restarting every worker at once;
  at 5,000 each worker was recycled every few seconds under load (bare p99 492 ms vs 7 ms).
- preload: workers fork from a master that has imported Django (fast restarts, shared memory).
  A preloaded master does not reload code on SIGHUP: deploy new code with a restart.
- SIGTERM is a graceful stop: workers finish the requests in flight (graceful_timeout), exit 0.
"""

from __future__ import annotations

import os
import shutil
import tempfile


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    return default if not value else value in {"1", "true", "yes", "on"}


wsgi_app = "healthcode.wsgi:application"
bind = [a.strip() for a in os.environ.get("HEALTHCODE_BIND", "127.0.0.1:8000").split(",") if a.strip()]
# Cores available to this process (a container's or systemd's CPU affinity), not the host's.
workers = _env_int("WEB_CONCURRENCY", len(os.sched_getaffinity(0)))
threads = _env_int("HEALTHCODE_THREADS", 1)
worker_class = "gthread" if threads > 1 else "sync"
max_requests = _env_int("HEALTHCODE_MAX_REQUESTS", 100_000)
max_requests_jitter = max(1, max_requests // 10) if max_requests else 0
timeout = _env_int("HEALTHCODE_TIMEOUT", 30)
graceful_timeout = _env_int("HEALTHCODE_GRACEFUL_TIMEOUT", 30)
# Only gthread keeps connections alive; nginx's upstream connections are short either way.
keepalive = 5
preload_app = _env_bool("HEALTHCODE_PRELOAD", True)
# The heartbeat file on tmpfs: a worker blocked on a slow disk is not mistaken for a hung one.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
forwarded_allow_ips = os.environ.get("HEALTHCODE_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
proc_name = "healthcode"
# No control socket: its default path ($HOME/.gunicorn/gunicorn.ctl) is shared by every gunicorn
# of the user, and systemd already manages the process.
control_socket_disable = True
# One log line per request comes from the app (healthcode.ops.middleware), with its request id
# and route; gunicorn's access log would repeat it, query strings included.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("HEALTHCODE_LOG_LEVEL", "info").lower()

_json_logs = os.environ.get(
    "HEALTHCODE_LOG_FORMAT", "text" if _env_bool("HEALTHCODE_DEBUG", False) else "json"
) == "json"
if _json_logs:
    import logging

    # Python warnings (e.g. a missing STATIC_ROOT) become log records: every line is JSON.
    logging.captureWarnings(True)
    # gunicorn's own messages (start, worker boot and exit) as JSON lines too, on stderr.
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            # The app's formatter (no Django needed to import it): one shape for every line.
            "json": {"()": "healthcode.ops.logs.JsonFormatter"},
        },
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "json",
                       "stream": "ext://sys.stderr"},
        },
        "root": {"level": "INFO", "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": loglevel.upper(), "handlers": ["stderr"],
                               "propagate": False, "qualname": "gunicorn.error"},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False,
                                "qualname": "gunicorn.access"},
        },
    }

# Prometheus multiprocess mode: each worker writes its samples to files in this directory and
# /metrics merges them. It must be set before prometheus_client is imported (by the app, which
# preload imports in this process), and emptied at start so dead workers' counters don't linger.
_own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _own_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="healthcode-metrics-")


def on_starting(server) -> None:  # noqa: ANN001 — gunicorn's Arbiter
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.unlink(os.path.join(path, name))


def child_exit(server, worker) -> None:  # noqa: ANN001
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:  # noqa: ANN001
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
