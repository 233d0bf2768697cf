"""The driver registry: a driver is chosen by the scheme of a URL and imported only when opened.

``import kv`` never imports a database or Kubernetes client; ``open_driver("postgresql://...")`` does.
"""

from __future__ import annotations

import importlib
from typing import Any, Final

from kv.driver import Driver
from kv.errors import Invalid, quote

__all__ = ["DRIVERS", "open_driver"]

DRIVERS: Final = {
    "memory": "kv.drivers.memory:MemoryDriver",
    "postgresql": "kv.drivers.postgres:PostgresDriver",
    "postgres": "kv.drivers.postgres:PostgresDriver",
    "kubernetes": "kv.drivers.k8s:KubernetesDriver",
}


def open_driver(url: str, **options: Any) -> Driver:
    """Open the driver for *url* (``memory://``, …), passing *options* to its ``from_url``.

    Raises:
        Invalid: no driver is registered for the URL's scheme.
    """
    scheme = url.partition(":")[0]
    target = DRIVERS.get(scheme)
    if target is None:
        raise Invalid(f"unknown driver {quote(scheme)} in {quote(url)}; known: {', '.join(DRIVERS)}")
    module_name, _, class_name = target.partition(":")
    driver_class = getattr(importlib.import_module(module_name), class_name)
    driver: Driver = driver_class.from_url(url, **options)
    return driver
