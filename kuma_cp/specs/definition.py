"""A type's definition, and Kuma's write pipeline over it.

`Definition.decode` is step 1 of Kuma's ``rest.JSON.Unmarshal`` for the spec: defaulting and the
OpenAPI-level checks (new-style types), or jsonpb's decoding (legacy types). It answers the decoded
model, or kube-openapi's messages (`SchemaInvalid`), or Go's decoding error (`Undecodable`).
`Definition.validate` is step 2, the type's ``Validate()``, run only on a decoded spec. `Definition.check`
runs both and returns the document to store: what Kuma would store, defaults in, unknown fields out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from attrs import field, frozen
from pydantic import BaseModel, ValidationError

from kuma_cp.specs.errors import Violation, decode_error, openapi_messages, to_violations
from kuma_cp.specs.validators import Errors

__all__ = ["Definition", "Meta", "SchemaInvalid", "SpecInvalid", "Undecodable"]

M = TypeVar("M", bound=BaseModel)


@frozen(kw_only=True)
class Meta:
    """What a validator may know of the resource besides its spec."""

    name: str = ""
    mesh: str = ""
    labels: Mapping[str, str] = field(factory=dict)


class SpecError(Exception):
    """A spec Kuma would refuse."""


class SchemaInvalid(SpecError):
    """The OpenAPI-level checks failed: kube-openapi's messages (``spec.x in body ...``), unsorted."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


class Undecodable(SpecError):
    """Go could not decode the spec into its type: Go's message (``time: invalid duration "x"``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SpecInvalid(SpecError):
    """The type's validator refused the spec: Kuma's violations, in Kuma's order."""

    def __init__(self, violations: list[Violation]) -> None:
        super().__init__("; ".join(f"{f}: {m}" for f, m in violations))
        self.violations = violations


Validator = Callable[[Any, Meta], Errors]


@frozen(kw_only=True)
class Definition(Generic[M]):
    """One Kuma type's spec (and status) and its validator.

    Attributes:
        name: the type name (``MeshTimeout``).
        spec: the model of its spec.
        status: the model of its status, if it has one.
        validator: the type's semantic checks (Kuma's ``validator.go``), given the decoded spec.
        legacy: a protobuf type (jsonpb decoding, no OpenAPI step).
    """

    name: str
    spec: type[M]
    status: type[BaseModel] | None = None
    validator: Validator | None = None
    legacy: bool = False

    def decode(self, spec: Any) -> M:
        """Default and check *spec* at the OpenAPI level, then decode it as Go would."""
        try:
            return self.spec.model_validate(spec)
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            if self.legacy:  # no OpenAPI step: jsonpb stops at its first error, in field order
                raise Undecodable(errors[0]["msg"]) from None
            messages = openapi_messages(errors)
            if messages:
                raise SchemaInvalid(messages) from None
            reason = decode_error(errors)
            raise Undecodable(reason or str(exc)) from None

    def validate(self, model: M, meta: Meta) -> list[Violation]:
        """The type's own violations of a decoded spec."""
        if self.validator is None:
            return []
        return list(self.validator(model, meta))

    def check(self, spec: Any, meta: Meta | None = None) -> dict[str, Any]:
        """The whole pipeline: the document to store, or `SchemaInvalid`, `Undecodable`, `SpecInvalid`."""
        model = self.decode(spec)
        violations = self.validate(model, meta or Meta())
        if violations:
            raise SpecInvalid(violations)
        return model.dump()  # type: ignore[attr-defined, no-any-return]


def schema_violations(messages: list[str]) -> list[Violation]:
    """Kuma's violations for kube-openapi's messages (sorted, ``spec.`` fields split off)."""
    return to_violations(messages)
