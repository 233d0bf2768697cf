"""Zone (``api/system/v1alpha1/zone.proto``): a zone registered at the Global control plane.

Kuma's ``ZoneResource.Validate`` checks only the name (a DNS-1035 label, on the display name), at
create and update, where ``kuma_cp.api.validation.rfc1035_violations`` runs it (see `kuma_cp.specs.mesh`).
"""

from __future__ import annotations

from kuma_cp.specs._jsonpb import Message
from kuma_cp.specs._wellknown import BoolValue
from kuma_cp.specs.definition import Definition

__all__ = ["DEFINITION", "ZoneSpec"]


class ZoneSpec(Message):
    """The spec of a Zone."""

    enabled: BoolValue = None  # a wrapper: a zone turned off is stored as ``enabled: false``


DEFINITION: Definition[ZoneSpec] = Definition(name="Zone", spec=ZoneSpec, legacy=True)
