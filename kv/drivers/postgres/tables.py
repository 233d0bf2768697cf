"""Kuma's ``resources`` table, declared once, exactly as Kuma's migrations leave it (the SQL in ``schema/``).

The driver never creates it (``kuma-cp migrate up`` does); the declaration is what its statements are
built from, and the migration tests compare it with the real table column by column.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

__all__ = ["COLUMNS", "metadata", "resources"]

metadata = sa.MetaData()

resources = sa.Table(
    "resources",
    metadata,
    sa.Column("name", sa.String(253), primary_key=True),
    sa.Column("mesh", sa.String(100), primary_key=True),
    sa.Column("type", sa.String(100), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("spec", sa.Text),
    sa.Column("creation_time", sa.DateTime, nullable=False, server_default=sa.func.now()),
    sa.Column("modification_time", sa.DateTime, nullable=False, server_default=sa.func.now()),
    sa.Column("owner_name", sa.String(100)),
    sa.Column("owner_mesh", sa.String(100)),
    sa.Column("owner_type", sa.String(100)),
    sa.Column("labels", JSONB, server_default=sa.text("'{}'::jsonb")),
    sa.Column("status", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.ForeignKeyConstraint(
        ["owner_name", "owner_mesh", "owner_type"],
        ["resources.name", "resources.mesh", "resources.type"],
        name="owner_fk",
        ondelete="CASCADE",
    ),
    sa.Index("owner_fk_index", "owner_type", "owner_mesh", "owner_name"),
)

_t = resources.c
# What every statement returns: jsonb comes back as text, decoded once by the store (no double parse).
COLUMNS = (
    _t.name,
    _t.mesh,
    _t.type,
    _t.version,
    _t.spec,
    _t.creation_time,
    _t.modification_time,
    _t.owner_name,
    _t.owner_mesh,
    _t.owner_type,
    sa.cast(_t.labels, sa.Text).label("labels"),
    sa.cast(_t.status, sa.Text).label("status"),
)
