"""Shared test configuration. Fixtures come from the hub's pytest plugin (hub.testing)."""

import pytest

BOTH_STORES = pytest.mark.parametrize(
    "store_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)
