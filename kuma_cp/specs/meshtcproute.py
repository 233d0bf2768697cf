"""MeshTCPRoute (``pkg/plugins/policies/meshtcproute``): where TCP traffic to a destination goes."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from kuma_cp.specs._godecode import GoDecodedSpec, max_items
from kuma_cp.specs._routes import BACKEND_KINDS, BackendRef, validate_backend_refs
from kuma_cp.specs.base import Spec
from kuma_cp.specs.common import OutboundTargetRef, TopLevelTargetRef, validate_target_ref
from kuma_cp.specs.definition import Definition, Meta
from kuma_cp.specs.validators import MUST_BE_DEFINED, Errors, Path

__all__ = ["DEFINITION", "MeshTCPRouteSpec"]


class RuleConf(Spec):
    """The backends a rule splits the traffic between."""

    backend_refs: list[BackendRef] | None = None


class Rule(Spec):
    """A routing rule (TCP has no matches, so one per destination)."""

    default: RuleConf


class To(Spec):
    """The routing of the traffic to a destination."""

    target_ref: OutboundTargetRef
    rules: Annotated[list[Rule], max_items(1)]


class MeshTCPRouteSpec(GoDecodedSpec):
    """The spec of a MeshTCPRoute."""

    target_ref: TopLevelTargetRef | None = None
    to: list[To] | None = Field(default=None, min_length=1)


def _validate_rules(rules: list[Rule]) -> Errors:
    errors = Errors()
    for index, rule in enumerate(rules):
        at = Path.root().index(index).field("default").field("backendRefs")
        if not rule.default.backend_refs:
            errors.at(at, MUST_BE_DEFINED)
        else:
            errors.add_at(at, validate_backend_refs(rule.default.backend_refs))
    return errors


def validate(spec: MeshTCPRouteSpec, meta: Meta) -> Errors:
    """Kuma's ``MeshTCPRouteResource.validate``."""
    errors = Errors()
    path = Path.rooted_at("spec")
    if spec.target_ref is not None:
        errors.add_at(path.field("targetRef"), validate_target_ref(spec.target_ref, ("Mesh", "Dataplane")))
    for index, to in enumerate(spec.to or []):
        at = path.field("to").index(index)
        errors.add_at(at.field("targetRef"), validate_target_ref(to.target_ref, BACKEND_KINDS))
        errors.add_at(at.field("rules"), _validate_rules(to.rules))
    return errors


DEFINITION: Definition[MeshTCPRouteSpec] = Definition(
    name="MeshTCPRoute", spec=MeshTCPRouteSpec, validator=validate
)
