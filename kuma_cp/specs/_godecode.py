"""Checks the base types leave out: kube-openapi's integer enums, and numbers Go's decoder refuses.

- `int_enum`: an integer field with an OpenAPI ``enum`` (``statusCode: [301, 302, ...]``). kube-openapi
  runs the type and the enum validator alike, so a string there gets both messages.
- `max_items`: an array's ``maxItems``. pydantic's ``max_length`` stops at the length, kube-openapi
  also checks every item, so a long list with a bad item gets both messages.
- `GO_INT32` (and `_policy_kit.Uint32`): a field Go decodes into a narrower integer than the OpenAPI
  schema allows: ``intstr.IntOrString`` (``anyOf: [integer, string]``) keeps its integer in an
  ``int32``, and a ``*uint32`` with ``format: int32`` takes a negative number at the OpenAPI level.
  Go's decoder then refuses the resource, with ``encoding/json``'s message naming the struct and the
  JSON path from the resource (``RequestMirror.spec.to.rules.default.filters.requestMirror.percentage``).
  A spec whose model derives from `GoDecodedSpec` gets that error as Go would give it: Kuma decodes
  the defaulted object re-marshalled, so keys in sorted order; a type error (``uint32``) is kept while
  decoding goes on, an error from a type's own decoder (``IntOrString``) stops it and wins.
  (`_policy_kit.GoDecoded` knows ``uint32`` alone.)
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from annotated_types import GroupedMetadata
from attrs import frozen
from pydantic import (
    BaseModel,
    BeforeValidator,
    GetCoreSchemaHandler,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic_core import CoreSchema, ErrorDetails, InitErrorDetails, PydanticCustomError

from kuma_cp.specs._policy_kit import _GoUint32
from kuma_cp.specs.base import DECODE_ERROR, GO_RANGE_SEEN, Spec, range_watch

__all__ = [
    "ENUM_ERROR",
    "GO_INT32",
    "GoDecodedSpec",
    "GoNumber",
    "go_decode_error",
    "go_number",
    "int_enum",
    "max_items",
]

ENUM_ERROR = "kuma_openapi_enum"  # pydantic error type: a value outside an OpenAPI enum of numbers


@frozen
class GoNumber:
    """Field metadata: the Go integer type the field decodes into (``Annotated[IntOrString, GO_INT32]``).

    Attributes:
        go_type: Go's name of the type.
        low: its least value.
        high: its greatest value.
        own_decoder: the number is decoded by the type's ``UnmarshalJSON``, whose error stops decoding.
    """

    go_type: str
    low: int
    high: int
    own_decoder: bool = False

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return range_watch(self.low, self.high, handler(source))


_UINT32 = GoNumber("uint32", 0, (1 << 32) - 1)
GO_INT32 = GoNumber("int32", -(1 << 31), (1 << 31) - 1, own_decoder=True)  # intstr.IntOrString


def go_number(value: float) -> str:
    """How Go's ``encoding/json`` writes a JSON number it read as a float64 (``3000000000``, ``1e+21``)."""
    number = float(value)
    if number.is_integer() and abs(number) < 1e21:
        return format(Decimal(repr(number)).normalize(), "f")
    return repr(number)


def _type_error(value: int, go_type: str, struct: str, field: str) -> str:
    number = go_number(value)
    return f"json: cannot unmarshal number {number} into Go struct field {struct}.{field} of type {go_type}"


def _marks(annotation: Any, metadata: list[Any]) -> list[GoNumber]:
    marks = [mark for mark in metadata if isinstance(mark, GoNumber)]
    if get_origin(annotation) is Annotated:
        metadata = list(annotation.__metadata__)
        if any(isinstance(mark, _GoUint32) for mark in metadata):
            marks.append(_UINT32)
    elif get_origin(annotation) in (Union, UnionType):
        marks.extend(mark for arg in get_args(annotation) for mark in _marks(arg, []))
    return marks


_PLANS: dict[type[BaseModel], list[tuple[str, str, list[GoNumber], bool]]] = {}


def _nested(annotation: Any) -> bool:
    # whether a value of *annotation* may hold a model (so the walk must go into it)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_nested(arg) for arg in get_args(annotation) if not isinstance(arg, (str, int)))


def _plan(model: type[BaseModel]) -> list[tuple[str, str, list[GoNumber], bool]]:
    # (attribute, JSON name, marks, nested) of the fields to look at, in Go's decoding order; once a class
    plan = _PLANS.get(model)
    if plan is None:
        fields, plan = model.model_fields, []
        for name in sorted(fields, key=lambda n: fields[n].alias or n):
            marks = _marks(fields[name].annotation, fields[name].metadata)
            nested = _nested(fields[name].annotation)
            if marks or nested:
                plan.append((name, fields[name].alias or name, marks, nested))
        _PLANS[model] = plan
    return plan


def go_decode_error(model: BaseModel, root: str = "spec") -> str | None:
    """Go's error decoding *model*'s document, for the fields marked with a `GoNumber`; None if it decodes."""
    saved: list[str] = []

    def walk(node: Any, path: str) -> str | None:
        if isinstance(node, list):
            return next((found for item in node if (found := walk(item, path))), None)
        if not isinstance(node, BaseModel):
            return None
        for name, alias, marks, nested in _plan(type(node)):
            value = getattr(node, name)
            if value is None:
                continue
            here = f"{path}.{alias}"
            number = isinstance(value, int) and not isinstance(value, bool)
            if marks and number and not marks[0].low <= value <= marks[0].high:
                error = _type_error(value, marks[0].go_type, type(node).__name__, here)
                if marks[0].own_decoder:
                    return error
                saved.append(error)
            found = walk(value, here) if nested else None
            if found:
                return found
        return None

    return walk(model, root) or next(iter(saved), None)


class GoDecodedSpec(Spec):
    """A spec root whose `GoNumber` fields Go may refuse to decode (`go_decode_error`).

    The models holding such fields are named as Go's structs, since Go's message names the struct.
    """

    @model_validator(mode="after")
    def _go_decode(self) -> Any:
        if not GO_RANGE_SEEN.get():  # no Go integer out of its range anywhere below: nothing to walk
            return self
        GO_RANGE_SEEN.set(False)
        error = go_decode_error(self)
        if error:
            raise PydanticCustomError(DECODE_ERROR, error)
        return self


class _Checked(GroupedMetadata):
    """A validator with the OpenAPI keywords it checks, so the derived schema (CRDs, generators) has them."""

    def __init__(self, validator: Any, keywords: dict[str, Any]) -> None:
        self.validator, self.keywords = validator, keywords

    def __iter__(self) -> Iterator[Any]:
        yield self.validator
        yield self

    def __get_pydantic_json_schema__(self, schema: Any, handler: Any) -> Any:
        out = handler(schema)
        out.update(self.keywords)
        return out


def int_enum(*allowed: int) -> Any:
    """The check of an integer field restricted to *allowed* by an OpenAPI enum, kube-openapi's messages.

    Used as ``Annotated[int, int_enum(301, 302)]``.
    """
    shown = " ".join(str(value) for value in allowed)

    def check(value: Any) -> Any:
        errors: list[InitErrorDetails] = []
        integer = isinstance(value, int) and not isinstance(value, bool)
        if not integer:
            errors.append(InitErrorDetails(type="int_type", loc=(), input=value))
        if not integer or value not in allowed:
            reason = PydanticCustomError(ENUM_ERROR, f"should be one of [{shown}]")
            errors.append(InitErrorDetails(type=reason, loc=(), input=value))
        if errors:
            raise ValidationError.from_exception_data("enum", errors)
        return value

    return _Checked(BeforeValidator(check), {"enum": list(allowed)})


def _init_details(error: ErrorDetails) -> InitErrorDetails:
    reason = PydanticCustomError(error["type"], error["msg"], error.get("ctx"))
    return InitErrorDetails(type=reason, loc=error["loc"], input=error["input"])


def max_items(limit: int) -> Any:
    """The check of an array's ``maxItems``, its items checked too.

    Used as ``Annotated[list[X] | None, max_items(16)]``.
    """

    def check(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        errors: list[InitErrorDetails] = []
        try:
            result = handler(value)
        except ValidationError as exc:
            errors.extend(_init_details(error) for error in exc.errors())
            result = None
        if isinstance(value, list) and len(value) > limit:
            context = {"field_type": "List", "max_length": limit, "actual_length": len(value)}
            errors.append(InitErrorDetails(type="too_long", loc=(), input=value, ctx=context))
        if errors:
            raise ValidationError.from_exception_data("max_items", errors)
        return result

    return _Checked(WrapValidator(check), {"maxItems": limit})
