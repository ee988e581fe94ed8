"""Fixtures for the operations tests: a real Redis on loopback, and the cache pointed at it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from healthcode.ops.tests.servers import REDIS_SERVER, RedisServer, free_port


def redis_caches(url: str) -> dict[str, dict[str, object]]:
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "healthcode",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    if not os.access(REDIS_SERVER, os.X_OK):
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(Path(tmp_path_factory.mktemp("redis"))).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_cache(redis_server: RedisServer, settings: object) -> Iterator[str]:
    """The default cache is the Redis above (emptied), as with HEALTHCODE_REDIS_URL."""
    from django.core.cache import cache

    settings.CACHES = redis_caches(redis_server.url)  # type: ignore[attr-defined]
    settings.HEALTHCODE_REDIS_URL = redis_server.url  # type: ignore[attr-defined]
    cache.clear()
    yield redis_server.url
    cache.clear()


@pytest.fixture
def dead_redis_cache(settings: object) -> str:
    """The default cache is a Redis that does not answer (nothing listens on the port)."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    settings.CACHES = redis_caches(url)  # type: ignore[attr-defined]
    settings.HEALTHCODE_REDIS_URL = url  # type: ignore[attr-defined]
    return url


@pytest.fixture(autouse=True)
def _empty_local_cache() -> Iterator[None]:
    """Rate-limit counters in the process's memory must not carry over between tests."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
