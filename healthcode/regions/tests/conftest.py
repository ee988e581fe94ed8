from __future__ import annotations

from collections.abc import Iterator

import pytest

from healthcode.regions import services


@pytest.fixture(autouse=True)
def fresh_region_index() -> Iterator[None]:
    """Tests here change regions inside rolled-back transactions: never let one test's index
    leak into the next."""
    services.clear_cache()
    yield
    services.clear_cache()
