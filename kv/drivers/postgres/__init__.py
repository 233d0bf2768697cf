"""The Postgres driver (Kuma's ``resources`` table); see `kv.drivers.postgres.driver`."""

from kv.drivers.postgres.driver import PostgresDriver
from kv.drivers.postgres.pool import create_engine, to_url

__all__ = ["PostgresDriver", "create_engine", "to_url"]
