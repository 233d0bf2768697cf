"""MeshTLS (``pkg/plugins/policies/meshtls``): the mTLS mode, TLS versions and ciphers of inbound traffic.

`TlsVersion` and `validate_version` are Kuma's ``api/common/v1alpha1/tls`` (shared with other types).
"""

from __future__ import annotations

from typing import Literal

from kuma_cp.specs.base import Spec
from kuma_cp.specs.common import TopLevelTargetRef, top_level, validate_target_ref
from kuma_cp.specs.definition import Definition, Meta
from kuma_cp.specs.validators import Errors, Path, field_must_be_one_of

__all__ = ["CIPHERS", "DEFINITION", "TLS_VERSIONS", "MeshTLSSpec", "TlsVersion", "validate_version"]

TLS_VERSIONS = ("TLSAuto", "TLS10", "TLS11", "TLS12", "TLS13")
CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-RSA-CHACHA20-POLY1305",
)
_MODES = ("Strict", "Permissive")
_ONLY_MESH = "{} can only be defined with top level targetRef kind: Mesh"
Version = Literal["TLSAuto", "TLS10", "TLS11", "TLS12", "TLS13"]
Cipher = Literal[
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-RSA-CHACHA20-POLY1305",
]


class TlsVersion(Spec):
    """The range of TLS versions allowed (``TLSAuto``: Envoy's default)."""

    min: Version = "TLSAuto"
    max: Version = "TLSAuto"


class Conf(Spec):
    """The TLS settings of inbound traffic."""

    tls_version: TlsVersion | None = None
    tls_ciphers: list[Cipher] | None = None
    mode: Literal["Permissive", "Strict"] | None = None


class Rule(Spec):
    """The settings of all inbound traffic (no matches yet)."""

    default: Conf = Conf()  # a Go struct, always marshalled


class MeshTLSSpec(Spec):
    """The spec of a MeshTLS."""

    target_ref: TopLevelTargetRef | None = None
    rules: list[Rule] | None = None


def validate_version(version: TlsVersion) -> Errors:
    """Kuma's ``tls.ValidateVersion``: known versions, the minimum not above the maximum."""
    errors = Errors()
    specific = []
    for name in ("min", "max"):
        value = getattr(version, name)
        if value not in TLS_VERSIONS:
            errors.add_at(Path.rooted_at(name), field_must_be_one_of(name, *TLS_VERSIONS))
        elif value != "TLSAuto":
            specific.append(TLS_VERSIONS.index(value))
    if len(specific) == 2 and specific[0] > specific[1]:
        errors.at(Path.rooted_at("min"), "min version must be lower than max")
    return errors


def _validate_default(path: Path, conf: Conf, top_kind: str) -> Errors:
    errors = Errors()
    if conf.mode is not None and conf.mode not in _MODES:
        errors.add_at(path.field("mode"), field_must_be_one_of("mode", *_MODES))
    if conf.tls_ciphers and top_kind != "Mesh":
        errors.at(
            path.field("tlsCiphers"), "tlsCiphers can only be defined with top level targetRef kind: Mesh"
        )
    elif any(cipher not in CIPHERS for cipher in conf.tls_ciphers or []):
        errors.add_at(path.field("tlsCiphers"), field_must_be_one_of("tlsCiphers", *CIPHERS))
    if conf.tls_version is not None:
        if top_kind != "Mesh":
            errors.at(
                path.field("tlsVersion"), "tlsVersion can only be defined with top level targetRef kind: Mesh"
            )
        else:
            errors.add_at(path.field("tlsVersion"), validate_version(conf.tls_version))
    return errors


def validate(spec: MeshTLSSpec, meta: Meta) -> Errors:
    """Kuma's ``MeshTLSResource.validate``."""
    errors = Errors()
    path = Path.rooted_at("spec")
    rules = spec.rules or []
    if spec.target_ref is not None:
        errors.add_at(
            path.field("targetRef"),
            validate_target_ref(spec.target_ref, ("Mesh", "Dataplane"), inbound_policy=bool(rules)),
        )
    top_kind: str = top_level(spec.target_ref).kind
    for index, rule in enumerate(rules):
        errors.add(
            _validate_default(path.field("rules").index(index).field("default"), rule.default, top_kind)
        )
    return errors


DEFINITION: Definition[MeshTLSSpec] = Definition(name="MeshTLS", spec=MeshTLSSpec, validator=validate)
