"""JSON patches (``api/common/v1alpha1.JsonPatchBlock``) and Kuma's checks of them.

`JsonPatchBlock` keeps a JSON ``null`` value apart from an absent one, as Go does (a ``json.RawMessage``
holding ``null`` is set, and is stored back as ``null``); `validate_json_patch_block` is Kuma's
``pkg/plugins/policies/core/jsonpatch/validators.ValidateJsonPatchBlock``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field, field_serializer, model_validator

from kuma_cp.specs.base import Spec
from kuma_cp.specs.validators import MUST_NOT_BE_EMPTY, Errors, Path, one_of_message

__all__ = ["JSON_NULL", "JsonPatchBlock", "validate_json_patch_block"]

OPS = ("add", "remove", "replace", "move", "copy")


class _JsonNull:
    """A JSON ``null`` that was given (Go's ``json.RawMessage("null")``)."""

    def __repr__(self) -> str:
        return "JSON_NULL"


JSON_NULL: Any = _JsonNull()


class JsonPatchBlock(Spec):
    """One JSON patch operation (RFC 6902)."""

    op: Literal["add", "remove", "replace", "move", "copy"]
    path: str
    value: Any = None  # any JSON value; JSON_NULL when given as null
    from_: str | None = Field(default=None, alias="from")

    @model_validator(mode="before")
    @classmethod
    def _given_null(cls, data: Any) -> Any:
        if isinstance(data, dict) and "value" in data and data["value"] is None:
            return {**data, "value": JSON_NULL}
        return data

    @field_serializer("value")
    def _value(self, value: Any) -> Any:
        return None if value is JSON_NULL else value


def _op_error(errors: Errors, path: Path, field: str, message: str, ops: tuple[str, ...]) -> None:
    errors.at(path, one_of_message(field, message, ops, "op"))


def validate_json_patch_block(root: Path, blocks: Sequence[JsonPatchBlock]) -> Errors:
    """Kuma's ``ValidateJsonPatchBlock``: each operation's ``from``, ``value`` and ``path`` fit its ``op``."""
    errors = Errors()
    if not blocks:
        errors.at(root, MUST_NOT_BE_EMPTY)
    for index, block in enumerate(blocks):
        path = root.index(index)
        if block.op not in OPS:
            errors.at(path.field("op"), one_of_message("op", "must be", OPS))
        if block.op in ("move", "copy"):
            if block.from_ is None:
                _op_error(errors, path.field("from"), "from", MUST_NOT_BE_EMPTY, ("move", "copy"))
        elif block.from_ is not None:
            _op_error(errors, path.field("from"), "from", "is allowed only", ("move", "copy"))
        if block.op in ("add", "replace"):
            if block.value is None:
                _op_error(errors, path.field("value"), "value", MUST_NOT_BE_EMPTY, ("add", "replace"))
        elif block.value is not None:
            _op_error(errors, path.field("value"), "value", "is allowed only", ("add", "replace"))
        if block.path in ("", "/") and block.op == "remove":  # an absent path is an OpenAPI error
            errors.at(path.field("path"), "root path cannot be removed")
    return errors
