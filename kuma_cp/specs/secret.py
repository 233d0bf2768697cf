"""Secret and GlobalSecret (``api/system/v1alpha1/secret.proto``): an opaque value, base64 in JSON.

GlobalSecret is Kuma's copy of the Secret type with a global scope; both have the same message and no
validator (nothing checks the value: ``data`` may be left out or empty). Go decodes ``data`` as
``encoding/json`` decodes ``[]byte``: a padded standard base64 string (line breaks skipped), or an
array of numbers from 0 to 255; what is stored is the padded base64 of the bytes.
"""

from __future__ import annotations

from kuma_cp.specs._jsonpb import Message
from kuma_cp.specs._wellknown import BytesValue
from kuma_cp.specs.definition import Definition

__all__ = ["DEFINITION", "DEFINITIONS", "SecretSpec"]


class SecretSpec(Message):
    """The spec of a Secret or a GlobalSecret."""

    data: BytesValue = None


DEFINITIONS: tuple[Definition[SecretSpec], ...] = (
    Definition(name="Secret", spec=SecretSpec, legacy=True),
    Definition(name="GlobalSecret", spec=SecretSpec, legacy=True),
)
DEFINITION = DEFINITIONS[0]  # specs._load evaluates module.DEFINITION even when DEFINITIONS is there
