"""Unit tests of kv's pieces that the conformance kit does not reach directly."""

from __future__ import annotations

import pickle
import subprocess
import sys
import threading

import pytest

import kv
from kv import codec, names
from kv.errors import AlreadyExists, Conflict, Invalid, KVError, NotFound, Unavailable
from kv.store import parse_offset

KEY = kv.Key("Mesh", "", "m1")


def test_error_messages_are_kumas() -> None:
    assert str(NotFound.of(KEY)) == 'resource not found: type="Mesh" name="m1" mesh=""'
    assert str(AlreadyExists.of(KEY)) == 'resource already exists: type="Mesh" name="m1" mesh=""'
    assert str(Conflict.of(KEY)) == 'resource conflict: type="Mesh" name="m1" mesh=""'
    assert str(Invalid("name can't be empty")) == "invalid: name can't be empty"


def test_error_tree_and_builtin_bases() -> None:
    for cls in (NotFound, AlreadyExists, Conflict, Invalid, Unavailable):
        assert issubclass(cls, KVError)
    assert issubclass(NotFound, LookupError)
    assert issubclass(Invalid, ValueError)
    assert [c.retryable for c in (NotFound, AlreadyExists, Conflict, Invalid, Unavailable)] == [
        False,
        False,
        False,
        False,
        True,
    ]


@pytest.mark.parametrize(
    "error", [NotFound.of(KEY), Conflict.of(KEY), Invalid("bad", key=KEY), Unavailable("down")]
)
def test_errors_pickle_with_their_key(error: KVError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), str(copy), copy.key) == (type(error), str(error), error.key)


@pytest.mark.parametrize(
    ("token", "expected"), [(None, 0), ("", 0), ("0", 0), ("7", 7), ("+3", 3), ("2147483647", 2**31 - 1)]
)
def test_offsets_parse(token: str | None, expected: int) -> None:
    assert parse_offset(token) == expected


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("abc", 'invalid offset: strconv.Atoi: parsing "abc": invalid syntax'),
        ("1.5", 'invalid offset: strconv.Atoi: parsing "1.5": invalid syntax'),
        ("-1", "invalid offset: must be non-negative"),
        ("2147483648", "invalid offset: exceeds maximum value"),
    ],
)
def test_bad_offsets_are_invalid_with_kumas_reason(token: str, reason: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_offset(token)
    assert caught.value.reason == reason


def test_codec_round_trips_and_copies() -> None:
    doc = {"a": [1, {"b": "é✓"}], "n": None}
    text = codec.encode("spec", doc)
    assert codec.decode(text) == doc
    assert codec.decode(text) is not codec.decode(text)


@pytest.mark.parametrize("text", ["a\\u0000", "\\\\u0000 is fine"])
def test_codec_tells_escaped_backslashes_from_nul(text: str) -> None:
    # "a\\u0000" is the six characters a, \, u, 0, 0, 0, 0: text, not NUL; it must store.
    assert codec.decode(codec.encode("spec", {"v": text})) == {"v": text}


def test_names_accept_the_documented_grammar() -> None:
    catalog = kv.Catalog()
    assert names.check_key(catalog, kv.Key("Widget", "", "a" * 253)).name == "a" * 253
    with pytest.raises(Invalid, match="at most 253"):
        names.check_key(catalog, kv.Key("Widget", "", "a" * 254))
    with pytest.raises(Invalid, match="RFC 1123"):
        names.check_key(catalog, kv.Key("Widget", "", "A"))
    with pytest.raises(Invalid, match="owner name"):
        names.check_owner(catalog, kv.Key("Widget", "", "a" * 101))


def test_free_text_labels_are_only_the_catalogs() -> None:
    catalog = kv.Catalog(free_label_keys=frozenset({"kuma.io/display-name"}))
    assert names.check_labels(catalog, {"kuma.io/display-name": "My Service (v2)"})
    with pytest.raises(Invalid):
        names.check_labels(catalog, {"app": "My Service (v2)"})


def test_an_unknown_driver_is_invalid() -> None:
    with pytest.raises(Invalid, match='unknown driver "redis"'):
        kv.open("redis://localhost")


def test_import_kv_pulls_in_no_database_or_kubernetes_client() -> None:
    code = (
        "import sys, kv, kv.testing; kv.open(); "
        "print(sorted(m for m in ('sqlalchemy', 'psycopg', 'kubernetes', 'pytest') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"


def test_subscription_drops_and_counts_when_full() -> None:
    store = kv.open()
    with store.subscribe(buffer=2) as events:
        for name in "abc":
            store.create(kv.Record(key=kv.Key("Widget", "m", name)))
        assert events.dropped == 1
        assert [getattr(events.get(0), "name", None) for _ in range(2)] == ["a", "b"]
        assert events.get(0) is None


def test_closing_a_subscription_wakes_its_reader() -> None:
    events = kv.open().subscribe()
    got: list[object] = []
    reader = threading.Thread(target=lambda: got.extend(events))
    reader.start()
    events.close()
    reader.join(timeout=5)
    assert not reader.is_alive()
    assert got == []


def test_a_failing_listener_does_not_fail_the_write(caplog: pytest.LogCaptureFixture) -> None:
    store = kv.open()

    def broken(event: kv.ResourceChanged) -> None:
        raise RuntimeError("listener bug")

    store.driver.subscribe(broken)
    store.create(kv.Record(key=kv.Key("Widget", "m", "a")))
    assert store.get("Widget", "m", "a").version == "1"
    assert "listener bug" in caplog.text


def test_update_without_the_records_labels_clears_them() -> None:
    """A Record built from scratch carries no labels; to keep them, evolve the record you read."""
    store = kv.open()
    created = store.create(kv.Record(key=kv.Key("Widget", "m", "a"), labels={"k": "v"}))
    fresh = kv.Record(key=created.key, spec={"x": 1}, version=created.version)
    assert store.update(fresh).labels == {}


def test_records_do_not_share_the_callers_dicts() -> None:
    spec = {"a": 1}
    record = kv.Record(key=KEY, spec=spec)
    spec["a"] = 2
    assert record.spec == {"a": 1}
