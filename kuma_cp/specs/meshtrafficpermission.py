"""MeshTrafficPermission (``pkg/plugins/policies/meshtrafficpermission``): who may reach an inbound.

Kuma 3.0 writes permissions as ``rules``, each a ``default`` of ``allow``, ``allowWithShadowDeny`` and
``deny`` lists of source matches (a SPIFFE ID or an SNI); there is no ``from`` any more (an unknown
field, dropped).
"""

from __future__ import annotations

from kuma_cp.specs.base import Spec
from kuma_cp.specs.common import Match, TopLevelTargetRef, check_match, validate_target_ref
from kuma_cp.specs.definition import Definition, Meta
from kuma_cp.specs.validators import Errors, Path

__all__ = ["DEFINITION", "MeshTrafficPermissionSpec"]


class RuleConf(Spec):
    """The sources a rule denies, allows while logging as denied, and allows."""

    deny: list[Match] | None = None
    allow_with_shadow_deny: list[Match] | None = None
    allow: list[Match] | None = None


class Rule(Spec):
    """One inbound permission rule."""

    default: RuleConf


class MeshTrafficPermissionSpec(Spec):
    """The spec of a MeshTrafficPermission."""

    target_ref: TopLevelTargetRef | None = None
    rules: list[Rule] | None = None


def _validate_rule(path: Path, conf: RuleConf) -> Errors:
    errors = Errors()
    lists = (("allow", conf.allow), ("allowWithShadowDeny", conf.allow_with_shadow_deny), ("deny", conf.deny))
    if not any(matches for _, matches in lists):
        errors.at(path, "at least one of 'allow', 'allowWithShadowDeny', 'deny' has to be defined")
    for name, matches in lists:
        for index, match in enumerate(matches or []):
            errors.add_at(path.field(name).index(index), check_match(match))
    return errors


def validate(spec: MeshTrafficPermissionSpec, meta: Meta) -> Errors:
    """Kuma's ``MeshTrafficPermissionResource.validate``."""
    errors = Errors()
    path = Path.rooted_at("spec")
    rules = spec.rules or []
    if spec.target_ref is not None:
        errors.add_at(
            path.field("targetRef"),
            validate_target_ref(spec.target_ref, ("Mesh", "Dataplane"), inbound_policy=bool(rules)),
        )
    if not rules:
        errors.at(path, "policy must define rules")
    for index, rule in enumerate(rules):
        errors.add(_validate_rule(path.field("rules").index(index), rule.default))
    return errors


DEFINITION: Definition[MeshTrafficPermissionSpec] = Definition(
    name="MeshTrafficPermission", spec=MeshTrafficPermissionSpec, validator=validate
)
