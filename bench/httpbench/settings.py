"""The production settings (healthcode.settings, from the environment) with the benchmark's
URLs: every URL of the app plus the two baseline views under /bench/. Nothing else differs,
so the baselines pay for the same middleware, database configuration and server as the API."""

from __future__ import annotations

from healthcode.settings import *  # noqa: F403

ROOT_URLCONF = "bench.httpbench.urls"
