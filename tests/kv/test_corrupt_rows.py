"""Stored records that cannot be read: left out of lists, a typed error on get, reported once per version.

kv never writes such a record (the memory driver holds only what the store encoded, so there it can only be
planted by calling the driver directly, as here). On Postgres it is a row inserted by hand or by a foreign
writer; on Kubernetes, a custom object whose spec is not an object, under a CRD that keeps unknown fields.
Rows as Go Kuma writes them, unknown fields, older shapes and removed types included, read as stored.
"""

from __future__ import annotations

import json
import logging
import pickle
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kv
from kv.driver import Row
from kv.drivers.memory import MemoryDriver

WHEN = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
NOT_JSON = "spec is not valid JSON (Expecting value: line 1 column 1 (char 0))"


def _plant(driver: Any, name: str, spec: str = "{}", status: str = "{}", labels: Any = None) -> Row:
    """A row written past the store, straight into the driver."""
    key = kv.Key("Widget", "m", name)
    row = Row(
        key=key, spec=spec, status=status, labels=labels or {}, creation_time=WHEN, modification_time=WHEN
    )
    return driver.create(row)  # type: ignore[no-any-return]


class Hook:
    def __init__(self) -> None:
        self.calls: list[kv.Corrupt] = []

    def __call__(self, error: kv.Corrupt) -> None:
        self.calls.append(error)


@pytest.fixture
def hook() -> Hook:
    return Hook()


@pytest.fixture
def memory(hook: Hook) -> Iterator[tuple[kv.Store, MemoryDriver]]:
    driver = MemoryDriver()
    with kv.Store(driver, on_corrupt=hook) as store:
        yield store, driver


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "kv.store" and r.levelno == logging.WARNING]


DEEP = '{"a":' * 100_000 + "1" + "}" * 100_000
UNREADABLE = [
    ({"spec": "not json"}, NOT_JSON),
    ({"spec": '{"a": 1'}, "spec is not valid JSON (Expecting ',' delimiter: line 1 column 8 (char 7))"),
    ({"spec": "[1, 2]"}, "spec is not a JSON object (an array)"),
    ({"spec": '"secret-value"'}, "spec is not a JSON object (a string)"),
    ({"spec": "7"}, "spec is not a JSON object (a number)"),
    ({"spec": "true"}, "spec is not a JSON object (a boolean)"),
    ({"spec": DEEP}, "spec is nested too deeply to be read"),
    ({"status": "[]"}, "status is not a JSON object (an array)"),
    ({"labels": ["a"]}, "labels are not a JSON object (an array)"),
    ({"labels": {"app": 1}}, "labels are not a JSON object of strings"),
]


@pytest.mark.parametrize(("planted", "reason"), UNREADABLE, ids=[r for _, r in UNREADABLE])
def test_an_unreadable_record_is_left_out_of_lists_and_a_get_names_the_problem(
    memory: tuple[kv.Store, MemoryDriver], hook: Hook, planted: dict[str, Any], reason: str
) -> None:
    store, driver = memory
    _plant(driver, "a")
    bad = _plant(driver, "b", **planted)
    _plant(driver, "c")
    page = store.list("Widget")
    assert ([r.key.name for r in page.items], page.total) == (["a", "c"], 3)
    with pytest.raises(kv.Corrupt) as caught:
        store.get("Widget", "m", "b")
    error = caught.value
    assert (error.key, error.reason, error.version) == (bad.key, reason, bad.version)
    assert str(error) == f'stored resource could not be read: type="Widget" name="b" mesh="m": {reason}'
    assert isinstance(error, kv.KVError)
    assert not isinstance(error, (kv.Invalid, kv.NotFound))
    assert "secret-value" not in str(error)  # what is stored is never quoted
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.key, copy.reason, copy.version) == (kv.Corrupt, bad.key, reason, bad.version)
    assert [(e.key, e.reason) for e in hook.calls] == [(bad.key, reason)]


def test_json_null_reads_as_empty_as_go_kuma_reads_it(memory: tuple[kv.Store, MemoryDriver]) -> None:
    store, driver = memory
    _plant(driver, "a", spec="null", status="null", labels=None)
    record = store.get("Widget", "m", "a")
    assert (record.spec, record.status, record.labels) == ({}, {}, {})


def test_each_version_is_reported_once_however_often_it_is_read(
    memory: tuple[kv.Store, MemoryDriver], hook: Hook, caplog: pytest.LogCaptureFixture
) -> None:
    store, driver = memory
    bad = _plant(driver, "b", spec="not json")
    for _ in range(3):
        assert store.list("Widget").items == ()
        assert store.list("Widget", page_size=1).items == ()
        with pytest.raises(kv.Corrupt):
            store.get("Widget", "m", "b")
    assert len(hook.calls) == 1
    [message] = _warnings(caplog)
    assert message.startswith(
        f'stored resource could not be read: type="Widget" name="b" mesh="m": {NOT_JSON}'
    )
    assert f"(version {bad.version})" in message
    assert not any(r.exc_info for r in caplog.records)  # no traceback
    driver.update(bad.key, spec="[]", status="{}", labels={}, modification_time=WHEN, expected=bad.version)
    assert store.list("Widget").items == ()  # a new version, unreadable again: reported again
    assert [e.reason for e in hook.calls] == [NOT_JSON, "spec is not a JSON object (an array)"]
    assert len(_warnings(caplog)) == 2


def test_a_hook_that_fails_never_fails_a_read(caplog: pytest.LogCaptureFixture) -> None:
    def failing(error: kv.Corrupt) -> None:
        raise RuntimeError("metrics are down")

    driver = MemoryDriver()
    store = kv.Store(driver, on_corrupt=failing)
    _plant(driver, "a")
    _plant(driver, "b", spec="not json")
    assert [r.key.name for r in store.list("Widget").items] == ["a"]
    assert any("on_corrupt failed" in m and "metrics are down" in m for m in _warnings(caplog))


def test_an_unreadable_record_can_be_deleted_or_replaced_at_its_version(
    memory: tuple[kv.Store, MemoryDriver],
) -> None:
    store, driver = memory
    _plant(driver, "a", spec="not json")
    _plant(driver, "b", spec="not json")
    with pytest.raises(kv.Corrupt) as caught:
        store.get("Widget", "m", "a")
    with pytest.raises(kv.Conflict):  # the version still guards it
        store.delete("Widget", "m", "a", version="999")
    store.delete("Widget", "m", "a", version=caught.value.version)
    with pytest.raises(kv.NotFound):
        store.get("Widget", "m", "a")
    with pytest.raises(kv.Corrupt) as caught:
        store.get("Widget", "m", "b")
    store.update(kv.Record(key=caught.value.key, spec={"fixed": True}, version=caught.value.version))
    assert store.get("Widget", "m", "b").spec == {"fixed": True}


def walk(store: kv.Store, size: int, **filters: Any) -> list[kv.Page]:
    """Every page of a listing, following ``next_offset``."""
    pages = [store.list("Widget", page_size=size, **filters)]
    while pages[-1].next_offset:
        pages.append(store.list("Widget", page_size=size, offset=pages[-1].next_offset, **filters))
        assert len(pages) < 100
    return pages


def check_pages(pages: list[kv.Page], readable: list[str], stored: int, size: int) -> None:
    """Pages hold every readable record once, in order; each is full while more follow; total counts all."""
    assert [r.key.name for page in pages for r in page.items] == readable
    for number, page in enumerate(pages):
        assert page.total == stored
        shown = sum(len(p.items) for p in pages[: number + 1])
        assert len(page.items) == size or shown == len(readable), (number, page)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.booleans(), max_size=25), st.integers(1, 8))
def test_pages_stay_full_and_next_walks_every_readable_record_once(bad: list[bool], size: int) -> None:
    driver = MemoryDriver()
    store = kv.Store(driver)
    for number, unreadable in enumerate(bad):
        _plant(driver, f"w{number:02}", spec="not json" if unreadable else "{}")
    readable = [f"w{n:02}" for n, unreadable in enumerate(bad) if not unreadable]
    check_pages(walk(store, size), readable, len(bad), size)


def test_a_record_written_by_the_store_is_always_readable() -> None:
    """Memory: only the store writes, so nothing unreadable can be stored there (short of the above)."""
    store = kv.open("memory://")
    key = kv.Key("Widget", "m", "a")
    store.create(kv.Record(key=key, spec={"deep": [[[{}]]]}, status={"s": None}, labels={"k": "v"}))
    for row in store.driver.list(kv.driver.Query(type="Widget"))[0]:
        assert json.loads(row.spec) == {"deep": [[[{}]]]}
        assert isinstance(row.labels, dict)
