"""Loaded by pytest before Django's settings (see `addopts`): tests run in testing mode, where
per-checkout development secrets stand in for the real ones."""

import os

os.environ.setdefault("HEALTHCODE_TESTING", "1")
