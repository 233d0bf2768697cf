"""The conformance kit must fail on a broken driver: each planted bug here has to be caught.

Every driver below is the memory driver with one realistic bug (several are Kuma's own quirks). A kit
that passed any of them would be proving nothing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime

import attrs
import pytest
from hypothesis import Phase, settings

import kv
from kv import testing
from kv.driver import Query, Row
from kv.drivers.memory import MemoryDriver
from kv.errors import Conflict, NotFound
from kv.model import Key


class UpdateIgnoresVersion(MemoryDriver):
    """Last writer wins: the bug optimistic locking exists to prevent."""

    def update(self, key: Key, **kw):
        current = self._find(key)
        if current is not None:
            kw["expected"] = current.version
        return super().update(key, **kw)


class NoCascade(MemoryDriver):
    """Deleting an owner leaves its children behind."""

    def delete(self, key: Key, *, expected: str | None = None) -> None:
        with self._lock:
            row = self._find(key)
            if row is None:
                raise NotFound.of(key)
            if expected is not None and row.version != expected:
                raise Conflict.of(key)
            self._tables[key.type].remove((key.mesh, key.name))


class InsertionOrderList(MemoryDriver):
    """Lists in reverse order instead of (mesh, name)."""

    def list(self, query: Query) -> tuple[Sequence[Row], int]:
        rows, total = super().list(query)
        return list(reversed(rows)), total


class TotalIsPageLength(MemoryDriver):
    """Reports the page's length as the total."""

    def list(self, query: Query) -> tuple[Sequence[Row], int]:
        rows, _ = super().list(query)
        return rows, len(rows)


class CreateOverwrites(MemoryDriver):
    """A duplicate create replaces the record instead of raising AlreadyExists."""

    def create(self, row: Row) -> Row:
        if self._find(row.key) is not None:
            super().delete(row.key)
        return super().create(row)


class VersionNeverChanges(MemoryDriver):
    """Updates keep the old version, so a stale writer cannot be told apart."""

    def update(self, key: Key, **kw):
        stored = attrs.evolve(super().update(key, **kw), version=kw["expected"])
        self._tables[key.type].rows[(key.mesh, key.name)] = stored
        return stored


class UpdateReturnsNoLabels(MemoryDriver):
    """Kuma's Postgres quirk: the record update returns has lost its labels."""

    def update(self, key: Key, **kw):
        return attrs.evolve(super().update(key, **kw), labels={})


class UpdateLosesCreationTime(MemoryDriver):
    """An update overwrites the creation time with the modification time."""

    def update(self, key: Key, *, modification_time: datetime, **kw):
        stored = attrs.evolve(super().update(key, modification_time=modification_time, **kw))
        stored = attrs.evolve(stored, creation_time=modification_time)
        self._tables[key.type].rows[(key.mesh, key.name)] = stored
        return stored


class NameFilterIsAPrefix(MemoryDriver):
    """name_contains matched as a prefix, not a substring."""

    def list(self, query: Query) -> tuple[Sequence[Row], int]:
        if query.name_contains is None:
            return super().list(query)
        rows, _ = super().list(attrs.evolve(query, name_contains=None, offset=0, limit=None))
        kept = [r for r in rows if r.key.name.startswith(query.name_contains)]
        end = None if query.limit is None else query.offset + query.limit
        return kept[query.offset : end], len(kept)


class CheckThenWrite(MemoryDriver):
    """Compare-and-set that is not atomic: the version is checked, then written without the lock."""

    def update(self, key: Key, *, expected: str, **kw):
        current = self._find(key)
        if current is None or current.version != expected:
            raise Conflict.of(key)
        time.sleep(0.0001)
        fresh = self._find(key)
        return super().update(key, expected=fresh.version if fresh else expected, **kw)


def _factory(driver_class: type[MemoryDriver]) -> testing.StoreFactory:
    def make() -> kv.Store:
        return kv.Store(driver_class(), catalog=testing.Types().catalog())

    return make


# Finding the bug is the point here; shrinking the counterexample only costs time.
FIND_ONLY = settings(max_examples=500, stateful_step_count=30, database=None, phases=[Phase.generate])


def _failing_checks(driver_class: type[MemoryDriver]) -> list[str]:
    failed = []
    for check in testing.CHECKS:
        try:
            testing.run_check(check, _factory(driver_class))
        except AssertionError:
            failed.append(check.name)
    return failed


MODEL_BUGS = [
    UpdateIgnoresVersion,
    NoCascade,
    InsertionOrderList,
    TotalIsPageLength,
    CreateOverwrites,
    VersionNeverChanges,
    UpdateReturnsNoLabels,
    UpdateLosesCreationTime,
    NameFilterIsAPrefix,
]


@pytest.mark.parametrize("driver_class", MODEL_BUGS, ids=lambda c: c.__name__)
def test_the_state_machine_catches(driver_class: type[MemoryDriver]) -> None:
    with pytest.raises(AssertionError):
        testing.run_state_machine(_factory(driver_class), settings=FIND_ONLY)


@pytest.mark.parametrize("driver_class", MODEL_BUGS, ids=lambda c: c.__name__)
def test_the_checks_catch(driver_class: type[MemoryDriver]) -> None:
    assert _failing_checks(driver_class), f"no check noticed {driver_class.__doc__}"


def test_the_checks_pass_the_real_driver() -> None:
    assert _failing_checks(MemoryDriver) == []


def test_concurrent_cas_catches_a_non_atomic_update() -> None:
    with pytest.raises(AssertionError):
        testing.check_concurrent_cas(_factory(CheckThenWrite), threads=8, increments=50)


def test_the_kit_reports_a_leaked_foreign_error() -> None:
    class Leaky(MemoryDriver):
        def get(self, key: Key, *, consistent: bool = False) -> Row:
            raise KeyError(key)

    with pytest.raises(KeyError):
        testing.run_state_machine(_factory(Leaky), settings=FIND_ONLY)
