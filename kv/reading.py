"""Rows into records: where stored content is judged, once, for every driver.

Drivers hand over what is stored as it is (spec and status as JSON text, labels as decoded); this module
decodes it into fresh objects for each caller. What cannot be read is `Corrupt`, with a reason that names
the problem and never quotes the content (it may be a Secret's):

- spec or status that is not valid JSON, or is valid JSON but not an object (an array, a string, …);
- labels that are not an object of strings.

JSON ``null`` (and SQL ``NULL``) reads as ``{}``, as Go Kuma reads it; unknown fields and older shapes are
no concern here: kv holds specs schemalessly, so whatever decodes is served as stored.

A `Reader` reports each unreadable record once per version: a warning naming its key and the reason, and
a call of its ``on_corrupt`` hook (kuma-cp counts them in ``store_corrupt_resources``). A read that
meets it again, in a listing or a get, reports nothing more.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from kv import codec
from kv.driver import Row
from kv.errors import Corrupt
from kv.model import Key, Record

__all__ = ["MAX_REMEMBERED", "Reader", "record_of"]

log = logging.getLogger("kv.store")
MAX_REMEMBERED = 10_000  # (key, version) pairs already reported; beyond that, the set starts again

_new = object.__new__
_set = object.__setattr__
_RECORD_FIELDS = ("key", "spec", "status", "labels", "creation_time", "modification_time", "owner", "version")
if tuple(f.name for f in attrs.fields(Record)) != _RECORD_FIELDS:  # pragma: no cover - a guard for record_of
    raise ImportError("kv.reading.record_of no longer sets every field of kv.Record")
_JSON_TYPES = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean"}
_only_strings = frozenset({str}).issuperset


def _kind(value: object) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _document(row: Row, what: str, text: str | None) -> dict[str, Any]:
    """The slow path of decoding *what* (``spec``, ``status``): ``null`` is ``{}``, else a JSON object."""
    try:
        value = json.loads("null" if text is None else text)
    except RecursionError:
        raise Corrupt(row.key, f"{what} is nested too deeply to be read", version=row.version) from None
    except (ValueError, TypeError) as exc:  # the decoder's message gives a position, never the content
        raise Corrupt(row.key, f"{what} is not valid JSON ({exc})", version=row.version) from None
    if value is None:
        return {}
    if type(value) is not dict:
        raise Corrupt(row.key, f"{what} is not a JSON object ({_kind(value)})", version=row.version)
    return value


def _labels(row: Row) -> dict[str, str]:
    """The slow path of copying labels: ``None`` (JSON ``null``) is ``{}``, else an object of strings."""
    labels: Any = row.labels
    if labels is None:
        return {}
    if not isinstance(labels, Mapping):
        raise Corrupt(row.key, f"labels are not a JSON object ({_kind(labels)})", version=row.version)
    if not all(type(k) is str and type(v) is str for k, v in labels.items()):
        raise Corrupt(row.key, "labels are not a JSON object of strings", version=row.version)
    return dict(labels)


def record_of(row: Row) -> Record:
    """A fresh `Record` of a row: spec and status decoded, labels copied (the row is never shared).

    Raises:
        Corrupt: the row's spec, status or labels cannot be read.
    """
    labels: Any = row.labels
    if type(labels) is dict and _only_strings(map(type, labels.values())):
        labels = labels.copy()
    else:
        labels = _labels(row)
    try:
        spec = codec.decode(row.spec)
        status = {} if row.status == "{}" else codec.decode(row.status)
    except (ValueError, TypeError, RecursionError):  # never for what kv wrote: the slow path says why
        spec, status = _document(row, "spec", row.spec), _document(row, "status", row.status)
    # What Record(...) does, minus its converters' second copy of the freshly decoded dicts.
    record: Record = _new(Record)
    _set(record, "key", row.key)
    _set(record, "spec", spec)
    _set(record, "status", status)
    _set(record, "labels", labels)
    _set(record, "creation_time", row.creation_time)
    _set(record, "modification_time", row.modification_time)
    _set(record, "owner", row.owner)
    _set(record, "version", row.version)
    return record


class Reader:
    """Reads rows for one store, reporting each unreadable record once per version. Thread-safe.

    Attributes:
        on_corrupt: called with the `Corrupt` error the first time a version of a record is found
            unreadable, after the warning is logged. It must not block; what it raises is logged and
            otherwise ignored.
    """

    def __init__(self, on_corrupt: Callable[[Corrupt], None] | None = None) -> None:
        self.on_corrupt = on_corrupt
        self._seen: set[tuple[Key, str]] = set()
        self._lock = threading.Lock()

    def report(self, error: Corrupt) -> None:
        """Log *error* and call ``on_corrupt``, unless this version of the record was reported already."""
        seen = (error.key, error.version)
        with self._lock:
            if seen in self._seen:
                return
            if len(self._seen) >= MAX_REMEMBERED:
                self._seen.clear()
            self._seen.add(seen)
        log.warning("%s (version %s); left out of lists until replaced or deleted", error, error.version)
        hook = self.on_corrupt
        if hook is not None:
            try:
                hook(error)
            except Exception as exc:  # a reporting hook never fails a read
                log.warning("on_corrupt failed for %s: %s: %s", error.key, type(exc).__name__, exc)

    def record(self, row: Row) -> Record:
        """`record_of` (*row*), reporting it if it cannot be read.

        Raises:
            Corrupt: the row cannot be read.
        """
        try:
            return record_of(row)
        except Corrupt as exc:
            self.report(exc)
            raise

    def records(self, rows: Iterable[Row]) -> tuple[Record, ...]:
        """The records of the rows that can be read; the others are reported and left out."""
        rows = rows if isinstance(rows, (list, tuple)) else list(rows)
        try:
            return tuple(map(record_of, rows))
        except Corrupt:
            pass
        readable = []
        for row in rows:
            try:
                readable.append(record_of(row))
            except Corrupt as exc:
                self.report(exc)
        return tuple(readable)
