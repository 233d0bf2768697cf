"""The application's record types for ``kv_store``."""

import pytest

import kv
from inventory import CATALOG


@pytest.fixture
def kv_catalog() -> kv.Catalog:
    return CATALOG  # kv_store holds this application's record types
