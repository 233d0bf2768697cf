"""Mesh (``api/mesh/v1alpha1/mesh.proto``): in Kuma 3.0, only the policies not to create by default.

Kuma 3.0 removed ``mtls``, ``tracing``, ``logging``, ``metrics``, ``networking``, ``routing``,
``constraints`` and ``meshServices`` from the message (their numbers are reserved): a Mesh that still
carries them applies, and they are dropped when it is written (``UPGRADE.md``).

Kuma's ``MeshResource.Validate`` checks only the name (a DNS-1035 label, on the display name). While
the body is decoded it sees no name; the check runs where Go runs it with the name, at create and
update (``kuma_cp.api.validation.rfc1035_violations``), so this definition has no validator.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from kuma_cp.specs._jsonpb import REPEATED, Item, Message
from kuma_cp.specs.definition import Definition

__all__ = ["DEFINITION", "MeshSpec"]


class MeshSpec(Message):
    """The spec of a Mesh."""

    skip_creating_initial_policies: Annotated[list[Item] | None, REPEATED] = Field(
        None, alias="skipCreatingInitialPolicies"
    )


DEFINITION: Definition[MeshSpec] = Definition(name="Mesh", spec=MeshSpec, legacy=True)
