"""Config (``api/system/v1alpha1/config.proto``): a control plane's internal setting, stored as text.

Kuma keeps its own state here (e.g. the cluster id, the control plane's CA); the value is a string
(often JSON) Kuma does not validate. An empty string is proto3's zero value, so it is not stored.
"""

from __future__ import annotations

from kuma_cp.specs._jsonpb import Message, String
from kuma_cp.specs.definition import Definition

__all__ = ["DEFINITION", "ConfigSpec"]


class ConfigSpec(Message):
    """The spec of a Config."""

    config: String = None


DEFINITION: Definition[ConfigSpec] = Definition(name="Config", spec=ConfigSpec, legacy=True)
