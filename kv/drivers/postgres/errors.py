"""The one place where SQLAlchemy and psycopg errors become kv errors.

Messages are built from the server's own diagnostics (``diag.message_primary``), never from
``str(exc)`` of SQLAlchemy, which would quote statements and parameters. Connection strings never reach
a message: psycopg's connection errors name host, port and user, never the password.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import psycopg.errors
import sqlalchemy.exc as sa_exc

from kv.errors import AlreadyExists, Invalid, KVError, NotFound, Unavailable
from kv.model import Key

__all__ = ["DATABASE_ERRORS", "translate", "translate_errors"]


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    primary = getattr(getattr(orig, "diag", None), "message_primary", None)
    lines = str(orig).strip().splitlines()
    text = primary or (lines[0] if lines else type(orig).__name__)
    sqlstate = getattr(orig, "sqlstate", None)
    return f"{text} (SQLSTATE {sqlstate})" if sqlstate else text


@contextmanager
def translate_errors(key: Key | None = None, *, owner: Key | None = None) -> Iterator[None]:
    """Translate database errors raised inside into the kv error tree, chaining the original.

    Errors of psycopg come either bare (the driver's statements run on psycopg cursors) or wrapped by
    SQLAlchemy (``exc.orig``); both are classified by the psycopg error class.
    """
    try:
        yield
    except KVError:
        raise
    except DATABASE_ERRORS as exc:
        raise translate(exc, key, owner) from exc


DATABASE_ERRORS = (sa_exc.SQLAlchemyError, psycopg.Error)
_INVALID = (psycopg.IntegrityError, psycopg.DataError, sa_exc.IntegrityError, sa_exc.DataError)
_UNAVAILABLE = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    sa_exc.DisconnectionError,
)


def translate(exc: Exception, key: Key | None = None, owner: Key | None = None) -> KVError:
    """The kv error for one of `DATABASE_ERRORS` (raise it ``from exc``), as `translate_errors` does."""
    orig = getattr(exc, "orig", None) or exc
    if isinstance(orig, psycopg.errors.UniqueViolation) and key is not None:
        return AlreadyExists.of(key)
    if isinstance(orig, psycopg.errors.ForeignKeyViolation) and owner is not None:
        return NotFound.of(owner)
    if isinstance(exc, _INVALID) or isinstance(orig, _INVALID):
        return Invalid(_reason(exc), key=key)
    if isinstance(exc, _UNAVAILABLE) or isinstance(orig, _UNAVAILABLE):
        return Unavailable(f"postgres unavailable: {_reason(exc)}", key=key)
    return KVError(f"postgres error: {_reason(exc)}", key=key)  # e.g. no resources table: not migrated
