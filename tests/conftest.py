"""Shared test configuration. Fixtures come from the hub's pytest plugin (hub.testing)."""

import pytest

from hub.privacy.crypto import generate_master_key, load_keyring
from hub.store import Store

BOTH_STORES = pytest.mark.parametrize(
    "store_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)


@pytest.fixture
def store(store_url):
    """A fresh store at ``store_url`` with a key of its own."""
    s = Store(store_url, load_keyring(key=generate_master_key()))
    yield s
    s.close()
