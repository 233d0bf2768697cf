"""``?format=``: a resource answered in its Universal (REST) form or as Kuma's Kubernetes object.

Kuma's ``formatResource``: ``universal`` (or none) is the REST form, ``k8s`` or ``kubernetes`` the object
Kuma keeps the resource in on Kubernetes (`kuma_cp.portability.k8sform`), placed in ``?namespace=`` if
given; anything else is 400 ``"format" must be one of ["k8s", "kubernetes", "universal"]``. Beyond Kuma,
whose list routes ignore the parameter, a list answers its items in the chosen form too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import kv
from kuma_cp.api.context import Api, query_parameter
from kuma_cp.api.errors import validation_error
from kuma_cp.api.rest import render
from kuma_cp.portability.k8sform import to_k8s
from kuma_cp.resources import ResourceType

__all__ = ["FORMATS", "Formatter", "formatter"]

FORMATS = '"format" must be one of ["k8s", "kubernetes", "universal"]'


class Formatter:
    """Renders records of one type in the form a request asked for."""

    def __init__(self, api: Api, rtype: ResourceType, fmt: str, namespace: str) -> None:
        self.rtype, self.kubernetes = rtype, fmt in ("k8s", "kubernetes")
        self.system_namespace, self.namespace = api.system_namespace, namespace

    def __call__(self, record: kv.Record) -> dict[str, Any]:
        """*record* in the chosen form."""
        if self.kubernetes:
            return to_k8s(
                self.rtype, record, system_namespace=self.system_namespace, namespace=self.namespace
            )
        return render(self.rtype, record)


def formatter(api: Api, rtype: ResourceType, pairs: Sequence[tuple[str, str]], title: str) -> Formatter:
    """The form ``?format=`` and ``?namespace=`` in *pairs* ask for; 400 titled *title* if unknown."""
    fmt = query_parameter(pairs, "format")
    if fmt not in ("", "universal", "k8s", "kubernetes"):
        raise validation_error(title, [("", FORMATS)])
    return Formatter(api, rtype, fmt, query_parameter(pairs, "namespace"))
