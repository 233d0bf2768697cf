"""MeshTrust (``pkg/core/resources/apis/meshtrust``): the CA bundles trusted for a trust domain."""

from __future__ import annotations

import binascii
import re
from typing import Literal

from pydantic import Field

from kuma_cp.specs.base import Spec
from kuma_cp.specs.definition import Definition, Meta
from kuma_cp.specs.validators import (
    MUST_BE_DEFINED,
    MUST_NOT_BE_EMPTY,
    Errors,
    Path,
    max_length,
    must_be_one_of,
)

__all__ = ["DEFINITION", "MeshTrustSpec", "MeshTrustStatus"]

_KEY_TYPES = ("PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY")
_BEGIN, _END, _DASHES = b"\n-----BEGIN ", b"\n-----END ", b"-----"


class PEM(Spec):
    """A PEM-encoded CA bundle."""

    value: str


class CABundle(Spec):
    """One CA bundle, by format."""

    type: Literal["Pem"]
    pem: PEM | None = None


class MeshTrustSpec(Spec):
    """The spec of a MeshTrust."""

    trust_domain: str = Field(max_length=253)
    ca_bundles: list[CABundle] = Field(alias="caBundles", min_length=1)


class _Origin(Spec):
    kri: str | None = None


class MeshTrustStatus(Spec):
    """Where the MeshTrust came from (a MeshIdentity's KRI, when generated)."""

    origin: _Origin | None = None


def _line(data: bytes) -> tuple[bytes, bytes]:
    # encoding/pem's getLine: a line (without one \r, then trailing spaces and tabs) and the rest
    end = data.find(b"\n")
    if end < 0:
        return data.rstrip(b" \t"), b""
    line = data[: end - 1] if end > 0 and data[end - 1 : end] == b"\r" else data[:end]
    return line.rstrip(b" \t"), data[end + 1 :]


def _pem_type(data: bytes) -> str | None:
    """The type of the first block Go's ``pem.Decode`` finds in *data*, or None when it finds none."""
    rest = data
    while True:
        if rest.startswith(_BEGIN[1:]):
            rest = rest[len(_BEGIN) - 1 :]
        elif (found := rest.find(_BEGIN)) >= 0:
            rest = rest[found + len(_BEGIN) :]
        else:
            return None
        type_line, rest = _line(rest)
        if not type_line.endswith(_DASHES):
            continue
        kind, headers = type_line[: -len(_DASHES)], False
        while True:  # "Key: value" header lines
            if not rest:
                return None
            line, following = _line(rest)
            if b":" not in line:
                break
            headers, rest = True, following
        if not headers and rest.startswith(_END[1:]):
            end, trailer = 0, len(_END) - 1
        else:
            end = rest.find(_END)
            trailer = end + len(_END)
        if end < 0:
            continue
        closing = rest[trailer : trailer + len(kind) + len(_DASHES)]
        if closing != kind + _DASHES or _line(rest[trailer + len(closing) :])[0]:
            continue
        try:
            binascii.a2b_base64(re.sub(rb"[ \t\r\n]", b"", rest[:end]), strict_mode=True)
        except binascii.Error:
            continue
        return kind.decode(errors="replace")


def _is_certificate(value: str) -> bool:
    kind = _pem_type(value.encode())
    return kind is not None and kind not in _KEY_TYPES


def _validate_bundles(path: Path, bundles: list[CABundle]) -> Errors:
    errors = Errors()
    if not bundles:
        errors.at(path, MUST_NOT_BE_EMPTY)
        return errors
    for index, bundle in enumerate(bundles):
        if bundle.type != "Pem":
            errors.at(path.field("type"), must_be_one_of(bundle.type, "Pem"))
            continue
        at = path.index(index).field("pem")
        if bundle.pem is None:
            errors.at(at, MUST_BE_DEFINED)
        elif not _is_certificate(bundle.pem.value):
            errors.at(at.field("value"), "provided certificate has incorrect format")
    return errors


def validate(spec: MeshTrustSpec, meta: Meta) -> Errors:
    """Kuma's ``MeshTrustResource.validate``: PEM certificates (not keys), a bounded trust domain."""
    errors = Errors()
    path = Path.rooted_at("spec")
    errors.add(_validate_bundles(path.field("caBundles"), spec.ca_bundles))
    if not spec.trust_domain:
        errors.at(path.field("trustDomain"), "trustDomain needs to be defined")
    errors.add(max_length(path.field("trustDomain"), 253, spec.trust_domain))
    return errors


DEFINITION: Definition[MeshTrustSpec] = Definition(
    name="MeshTrust", spec=MeshTrustSpec, status=MeshTrustStatus, validator=validate
)
