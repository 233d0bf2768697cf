"""The one error tree of kv: every driver failure reaches callers as one of these.

::

    KVError                              root; the driver's own error, if any, is chained as __cause__
    ├── NotFound(KVError, LookupError)   no record at that key (get, delete, a create's missing owner)
    ├── AlreadyExists                    create on a key that is taken
    ├── Conflict                         the version precondition failed: stale, or the record is gone
    ├── Invalid(KVError, ValueError)     the store can never accept this; replaying it unchanged cannot help
    ├── Corrupt                          a stored record cannot be read (a hand-made row, a foreign writer)
    └── Unavailable                      transient: connection lost, timeout, overload; retryable

Messages are Kuma's (``resource not found: type="Mesh" name="m1" mesh=""``), so that the HTTP API and
logs read the same as Go Kuma's. Drivers translate their library's errors into this tree in exactly one
place each (a ``_translate_errors`` context manager); nothing else from a driver may escape. Drivers
hand over stored content as it is; whether it can be read is decided in one place for every driver, where
`kv.Store` decodes it (`Corrupt`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from kv.model import Key

__all__ = ["AlreadyExists", "Conflict", "Corrupt", "Invalid", "KVError", "NotFound", "Unavailable"]


def quote(value: str) -> str:
    """Quote like Go's ``%q`` for the strings kv allows (printable, no control characters)."""
    return json.dumps(value, ensure_ascii=False)


def describe(key: Key) -> str:
    """``type="Mesh" name="m1" mesh=""``: how Kuma names a record in an error."""
    return f"type={quote(key.type)} name={quote(key.name)} mesh={quote(key.mesh)}"


class KVError(Exception):
    """Root of every error a kv store raises.

    Attributes:
        key: the record the error is about, when there is one.
        retryable: whether repeating the same call may succeed (only `Unavailable`).
    """

    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, key: Key | None = None) -> None:
        super().__init__(message)
        self.key = key

    def __reduce__(self) -> tuple[object, ...]:  # picklable, keyword argument included
        return (_rebuild, (type(self), str(self), self.key))


def _rebuild(cls: type[KVError], message: str, key: Key | None) -> KVError:
    return cls(message, key=key)


class NotFound(KVError, LookupError):
    """No record at the key: ``resource not found: type=... name=... mesh=...``."""

    @classmethod
    def of(cls, key: Key) -> NotFound:
        """The error Kuma raises for a missing *key*."""
        return cls(f"resource not found: {describe(key)}", key=key)


class AlreadyExists(KVError):
    """A create found the key taken: ``resource already exists: type=... name=... mesh=...``."""

    @classmethod
    def of(cls, key: Key) -> AlreadyExists:
        """The error Kuma raises for a duplicate create of *key*."""
        return cls(f"resource already exists: {describe(key)}", key=key)


class Conflict(KVError):
    """A version precondition failed: ``resource conflict: type=... name=... mesh=...``.

    Raised by an update whose version is stale or whose record no longer exists, and by a get whose
    expected version differs. Read again and retry.
    """

    @classmethod
    def of(cls, key: Key) -> Conflict:
        """The error Kuma raises for a stale or missing *key* on update."""
        return cls(f"resource conflict: {describe(key)}", key=key)


class Invalid(KVError, ValueError):
    """The request can never succeed as it is: ``invalid: <reason>``.

    A bad name, a bad offset, a spec that is not JSON. Never used for transient failures.
    """

    def __init__(self, reason: str, *, key: Key | None = None) -> None:
        super().__init__(f"invalid: {reason}", key=key)
        self.reason = reason

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_invalid, (self.reason, self.key))


def _rebuild_invalid(reason: str, key: Key | None) -> Invalid:
    return Invalid(reason, key=key)


class Corrupt(KVError):
    """A stored record that cannot be read: ``stored resource could not be read: type=... ...: <reason>``.

    Its spec, status or labels do not decode as JSON objects (JSON ``null`` reads as empty, as Go Kuma reads
    it). kv never writes such a record; a hand-made row or a foreign writer can. A get of it raises this;
    a listing leaves it out (see `kv.Store.list`). It can still be deleted, or replaced by an update at
    *version*.

    Attributes:
        key: the record.
        reason: what is wrong, without any of the stored content (``spec is not valid JSON (...)``).
        version: the stored version, for a delete or an update at that version.
    """

    key: Key

    def __init__(self, key: Key, reason: str, *, version: str = "") -> None:
        super().__init__(f"stored resource could not be read: {describe(key)}: {reason}", key=key)
        self.reason = reason
        self.version = version

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_corrupt, (self.key, self.reason, self.version))


def _rebuild_corrupt(key: Key, reason: str, version: str) -> Corrupt:
    return Corrupt(key, reason, version=version)


class Unavailable(KVError):
    """The backend could not be reached or did not answer in time; the call may be retried."""

    retryable: ClassVar[bool] = True
