"""Kuma's Postgres migrations (``<version>_<title>.up.sql``), the package kuma_cp.schema via package_dir."""
