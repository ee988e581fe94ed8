"""Loaded by pytest before Django's settings (see `addopts`): tests run in testing mode, where
per-checkout development secrets stand in for the real ones."""

import os

os.environ.setdefault("HEALTHCODE_TESTING", "1")
# Background tasks run at once in tests, so a test sees a job's outcome when it returns.
os.environ.setdefault("HEALTHCODE_TASKS_BACKEND", "immediate")
