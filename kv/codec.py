"""JSON encoding of specs and statuses: the one place that decides what "JSON" means for kv.

Drivers store and return spec and status as JSON text; the store encodes once on the way in and
decodes on the way out, which is also what gives every caller its own deep copy. What cannot round-trip
on every backend is `Invalid`: non-finite floats, the NUL character (PostgreSQL ``jsonb`` and ``text``
refuse it), documents over 1 MiB (larger than Kubernetes accepts for one object).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from kv.errors import Invalid

__all__ = ["MAX_DOCUMENT", "decode", "encode"]

MAX_DOCUMENT = 1 << 20
_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
_SURROGATE = re.compile("[\ud800-\udfff]")
_encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
_decode = json.JSONDecoder().decode


def encode(what: str, value: Mapping[str, Any]) -> str:
    """Encode a JSON object; raise `Invalid` naming *what* ("spec", "status") if it cannot be stored."""
    if type(value) is dict and not value:  # the usual empty status
        return "{}"
    if not isinstance(value, Mapping):
        raise Invalid(f"{what} must be a JSON object (a mapping), not {type(value).__name__}")
    try:
        text = _encoder.encode(value if isinstance(value, dict) else dict(value))
    except (TypeError, ValueError, RecursionError) as exc:
        raise Invalid(f"{what} is not JSON-serialisable: {exc}") from exc
    if len(text) > MAX_DOCUMENT:
        raise Invalid(f"{what} is {len(text)} characters of JSON; at most {MAX_DOCUMENT}")
    if "\\u0000" in text and _NUL.search(text):
        raise Invalid(f"{what} contains the NUL character, which PostgreSQL cannot store")
    if not text.isascii() and _SURROGATE.search(text):  # ASCII text cannot hold one
        raise Invalid(f"{what} contains a lone surrogate, which is not valid UTF-8")
    return text


def decode(text: str) -> dict[str, Any]:
    """Decode a stored JSON object into a fresh dict."""
    value = _decode(text)
    if not isinstance(value, dict):  # pragma: no cover - encode() only ever stores objects
        raise Invalid(f"stored document is not a JSON object: {text[:80]}")
    return value
