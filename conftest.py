"""Test configuration shared by the whole suite."""

import pytest


@pytest.fixture
def regions(django_db_blocker):
    """Regions for tests whose database is flushed between tests (live server, transactional
    tests): the data migration's rows are gone after the first flush, so load them again."""
    from healthcode.regions.loader import sync_regions
    from healthcode.regions.models import Region
    from healthcode.regions.services import clear_cache

    with django_db_blocker.unblock():
        if not Region.objects.exists():
            sync_regions()
        clear_cache()


@pytest.fixture(autouse=True)
def _fresh_key_caches():
    """Signing keys and rule-set versions live in the database, which tests roll back; the
    in-process caches of them must not outlive them."""
    from healthcode.codes import keys, rulesets_store

    keys.reset_key_caches()
    rulesets_store.clear_cache()
    yield
    keys.reset_key_caches()
    rulesets_store.clear_cache()


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language (zh-hans): a request or test that activated
    English must not leak into the next test in the same worker."""
    from django.utils import translation

    translation.activate("zh-hans")
    yield
    translation.deactivate()
