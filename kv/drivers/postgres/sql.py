"""The driver's statements, built with SQLAlchemy Core and compiled once to the SQL text psycopg receives.

SQLAlchemy builds every statement (from the table declared in `kv.drivers.postgres.tables`); the driver
then sends the compiled text (psycopg's ``%(name)s`` placeholders) straight to a pooled psycopg cursor, so
that a single-record operation costs one dict of parameters and one round trip, nothing more.

`compiled` gives the exact text sent for a statement and `list_statement` the statement of a listing, so
that a benchmark can run the very same SQL on a bare psycopg connection (with `parameters`).
"""

from __future__ import annotations

import json
import threading
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB

from kv.driver import Query
from kv.drivers.postgres.tables import COLUMNS, resources

__all__ = [
    "DELETE",
    "DELETE_AT_VERSION",
    "GET",
    "INSERT",
    "UPDATE",
    "compiled",
    "list_sql",
    "list_statement",
    "parameters",
]

_t = resources.c
_bp = sa.bindparam
_PK = (_t.name == _bp("k_name"), _t.mesh == _bp("k_mesh"), _t.type == _bp("k_type"))
# The version a writer holds is Kuma's integer *and* the record's creation time (see driver.version_of): a
# record deleted and created again starts at version 0 again, and the time tells the two apart (no ABA).
_HELD = (_t.version == _bp("expected"), _t.creation_time == _bp("expected_ctime"))
_JSONB_TEXT = {
    "labels": sa.cast(_bp("labels", type_=sa.Text), JSONB),
    "status": sa.cast(_bp("status", type_=sa.Text), JSONB),
}
INSERT = (
    sa.insert(resources)
    .values(
        name=_bp("k_name"),
        mesh=_bp("k_mesh"),
        type=_bp("k_type"),
        version=sa.literal_column("0", sa.Integer),
        spec=_bp("spec"),
        creation_time=_bp("ctime"),
        modification_time=_bp("mtime"),
        owner_name=_bp("owner_name"),
        owner_mesh=_bp("owner_mesh"),
        owner_type=_bp("owner_type"),
        **_JSONB_TEXT,
    )
    .returning(*COLUMNS)
)
UPDATE = (
    sa.update(resources)
    .where(*_PK, *_HELD)
    .values(
        version=_t.version + sa.literal_column("1", sa.Integer),
        spec=_bp("spec"),
        modification_time=_bp("mtime"),
        **_JSONB_TEXT,
    )
    .returning(*COLUMNS)
)
DELETE = sa.delete(resources).where(*_PK)
DELETE_AT_VERSION = sa.delete(resources).where(*_PK, *_HELD)
GET = sa.select(*COLUMNS).where(*_PK)
ORDER = (_t.mesh.collate("C"), _t.name.collate("C"))  # byte-wise, whatever the database's collation
_DIALECT = postgresql.psycopg.dialect()  # type: ignore[no-untyped-call]
_compiled: dict[Any, str] = {}  # statement -> SQL text; only for statements that live as long as the module
_lock = threading.Lock()


def _compile(statement: sa.ClauseElement) -> Any:
    return statement.compile(dialect=_DIALECT, compile_kwargs={"render_postcompile": True})


def compiled(statement: sa.ClauseElement) -> str:
    """The exact SQL text the driver sends for *statement* (psycopg's ``%(name)s`` paramstyle).

    The module's statements (`GET`, `INSERT`, `UPDATE`, `DELETE`, `DELETE_AT_VERSION`) are compiled
    once and cached; any other statement is compiled on each call.
    """
    text = _compiled.get(statement)
    if text is None:
        text = str(_compile(statement))
        if statement in _MODULE_STATEMENTS:
            with _lock:
                _compiled[statement] = text
    return text


def parameters(statement: sa.ClauseElement) -> dict[str, Any]:
    """The values bound into *statement* when it was built (a listing's filters, limit and offset)."""
    return {k: v for k, v in _compile(statement).params.items() if v is not None}


def like_contains(text: str) -> str:
    """A ``LIKE ... ESCAPE '/'`` pattern matching names that contain *text* literally."""
    return "%" + text.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


def _columns(table: sa.FromClause) -> list[sa.ColumnElement[Any]]:
    """`COLUMNS` of *table* (``resources`` or an alias of it)."""
    c = table.c
    plain = [c[name] for name in ("name", "mesh", "type", "version", "spec", "creation_time")]
    plain += [c[name] for name in ("modification_time", "owner_name", "owner_mesh", "owner_type")]
    return [*plain, sa.cast(c.labels, sa.Text).label("labels"), sa.cast(c.status, sa.Text).label("status")]


def list_statement(query: Query) -> sa.Select[Any]:
    """The statement the driver runs for *query* (keys pushed down as a ``(mesh, name) IN`` list).

    Without a limit it selects every match ordered by (mesh, name). With one, a single statement (one
    snapshot) counts all matches and returns the requested slice: the total in every row, or in one row
    of NULLs when the slice is empty. The slice is chosen on keys alone, which the primary key index
    holds (an index-only scan, no wide rows sorted), and only its rows are then read whole.
    """
    type_: sa.BindParameter[str] = _bp("type", query.type)
    where: list[sa.ColumnElement[bool]] = [_t.type == type_]
    if query.mesh is not None:
        where.append(_t.mesh == _bp("mesh", query.mesh))
    if query.name_contains is not None:
        where.append(_t.name.like(_bp("name_like", like_contains(query.name_contains)), escape="/"))
    if query.labels:
        labels = sa.cast(_bp("labels", _json(query.labels), type_=sa.Text), JSONB)
        where.append(_t.labels.op("@>")(labels))
    if query.keys is not None:
        where.append(sa.tuple_(_t.mesh, _t.name).in_(sorted(query.keys)))
    if query.limit is None:
        return sa.select(*COLUMNS).where(*where).order_by(*ORDER)
    counted = sa.select(sa.func.count().label("total")).where(*where).subquery("counted")
    page = (
        sa.select(_t.name, _t.mesh)
        .where(*where)
        .order_by(*ORDER)
        .limit(_bp("limit", query.limit, type_=sa.Integer))
        .offset(_bp("offset", query.offset, type_=sa.Integer))
        .lateral("page")
    )
    row = resources.alias("r")
    same_key = sa.and_(row.c.name == page.c.name, row.c.mesh == page.c.mesh, row.c.type == type_)
    return (
        sa.select(counted.c.total, *_columns(row))
        .select_from(counted.outerjoin(page, sa.true()).outerjoin(row, same_key))
        .order_by(page.c.mesh.collate("C"), page.c.name.collate("C"))
    )


_list_sql: dict[tuple[str, ...], str] = {}  # the SQL of each shape of listing, by its parameter names


def list_sql(query: Query) -> tuple[str, dict[str, Any]]:
    """The SQL text and parameters of `list_statement` (*query*), compiled once per shape of query."""
    if query.keys is not None:  # a parameter per key: compiled each time
        statement = _compile(list_statement(query))
        return str(statement), {k: v for k, v in statement.params.items() if v is not None}
    params: dict[str, Any] = {"type": query.type}
    if query.mesh is not None:
        params["mesh"] = query.mesh
    if query.name_contains is not None:
        params["name_like"] = like_contains(query.name_contains)
    if query.labels:
        params["labels"] = _json(query.labels)
    if query.limit is not None:
        params["limit"] = query.limit
        params["offset"] = query.offset
    shape = tuple(params)
    text = _list_sql.get(shape)
    if text is None:
        text = _list_sql[shape] = compiled(list_statement(query))
    return text, params


def _json(labels: Any) -> str:
    return json.dumps(dict(labels), separators=(",", ":"))


_MODULE_STATEMENTS = frozenset((INSERT, UPDATE, DELETE, DELETE_AT_VERSION, GET))
