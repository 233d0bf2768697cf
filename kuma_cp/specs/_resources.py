"""What Kuma's core (non-policy) resources share: selectors, ports, extensions, data sources, statuses.

- `LabelSelector` (``common_api.LabelSelector``) and `Int32`, an integer the schema marks ``int32``.
- `GoOmitEmpty`: the base of a model with ``omitempty`` value fields, which Go's ``encoding/json``
  leaves out of the stored document when they are empty (``""``, ``[]``).
- `Extension`: a plugin's type and its free-form configuration (HostnameGenerator, MeshExternalService);
  `FreeFormConfig` the base of such a model.
- `SecureDataSource` (``api/common/v1alpha1/datasource``) and its checks.
- The status parts of the destination types (`Address`, `HostnameGeneratorStatus`, `VIP`), written by
  the control plane.
- `SUPPORTED_PROTOCOLS` and the ``appProtocol`` message of MeshService and MeshMultiZoneService.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field, SerializationInfo, SerializerFunctionWrapHandler, model_serializer
from pydantic import model_validator as _model_validator
from pydantic_core import PydanticCustomError

from kuma_cp.specs.base import INT32_ERROR, Spec
from kuma_cp.specs.common import Condition
from kuma_cp.specs.validators import MUST_BE_DEFINED, Errors, Path, must_be_one_of

__all__ = [
    "INT32_ERROR",
    "SUPPORTED_PROTOCOLS",
    "VIP",
    "Address",
    "Extension",
    "FreeFormConfig",
    "GoOmitEmpty",
    "HostnameGeneratorStatus",
    "Int32",
    "LabelSelector",
    "SecureDataSource",
    "app_protocol_message",
    "validate_secure_data_source",
]

_INT32_MIN, _INT32_MAX = -(1 << 31), (1 << 31) - 1
SUPPORTED_PROTOCOLS = ("grpc", "http", "http2", "tcp")  # core_meta.SupportedProtocols, Kuma's order


def _int32(value: int) -> int:
    if not _INT32_MIN <= value <= _INT32_MAX:
        raise PydanticCustomError(INT32_ERROR, "must be of type integer with format int32")
    return value


Int32 = Annotated[int, AfterValidator(_int32), Field(json_schema_extra={"format": "int32"})]
"""An integer of ``format: int32`` (kube-openapi refuses a number outside the range)."""


def app_protocol_message() -> str:
    """Kuma's ``MustBeOneOf("appProtocol", SupportedProtocols...)``."""
    return must_be_one_of("appProtocol", *SUPPORTED_PROTOCOLS)


class GoOmitEmpty(Spec):
    """A model some of whose fields are Go ``omitempty`` values: left out of its document when empty."""

    omit_empty: ClassVar[frozenset[str]] = frozenset()  # the JSON names of those fields

    @model_serializer(mode="wrap")
    def _omit_empty(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        document = handler(self)
        if isinstance(document, dict):
            for name in self.omit_empty:
                if document.get(name) in ("", []):
                    del document[name]
        return document


class LabelSelector(Spec):
    """Labels a selected resource must all carry."""

    match_labels: dict[str, str] | None = None


class FreeFormConfig(Spec):
    """The base of a model with a free-form ``config``: any JSON value, and a null is no value."""

    config: Any = None  # x-kubernetes-preserve-unknown-fields

    @_model_validator(mode="before")
    @classmethod
    def _config_may_be_null(cls, data: Any) -> Any:
        # the property has no type, so kube-openapi lets a null through and Go decodes it as unset
        if isinstance(data, dict) and data.get("config", 0) is None:
            data = dict(data)
            data.pop("config")
        return data


class Extension(FreeFormConfig):
    """A plugin's configuration: its type and anything it wants."""

    type: str


class _File(Spec):
    path: str


class _EnvVar(Spec):
    name: str


class _Inline(Spec):
    value: str


class _SecretRef(Spec):
    kind: Literal["Secret"]
    name: str


class SecureDataSource(Spec):
    """Where a secret comes from: a control plane's file or environment variable, a Secret, inline."""

    type: Literal["File", "Secret", "EnvVar", "InsecureInline"]
    file: _File | None = None
    env_var: _EnvVar | None = None
    insecure_inline: _Inline | None = None
    secret_ref: _SecretRef | None = None


def _file_path_error(path: str) -> str | None:
    # datasource.validateFilePath (the empty path is reported before)
    if ".." in path:
        return f"file path contains directory traversal sequence: {path}"
    if not path.startswith("/"):
        return f"file path must be absolute: {path}"
    return None


def validate_secure_data_source(path: Path, source: SecureDataSource | None) -> Errors:
    """Kuma's ``SecureDataSource.ValidateSecureDataSource``: the part the type names must be there."""
    errors = Errors()
    if source is None:
        return errors
    kind = source.type
    if kind == "EnvVar":
        if source.env_var is None:
            errors.at(path.field("envVar"), MUST_BE_DEFINED)
        elif not source.env_var.name:
            errors.at(path.field("envVar").field("name"), MUST_BE_DEFINED)
    elif kind == "InsecureInline":
        if source.insecure_inline is None:
            errors.at(path.field("insecureInline"), MUST_BE_DEFINED)
        elif not source.insecure_inline.value:
            errors.at(path.field("insecureInline").field("value"), MUST_BE_DEFINED)
    elif kind == "File":
        problem = None if source.file is None or not source.file.path else _file_path_error(source.file.path)
        if source.file is None:
            errors.at(path.field("file"), MUST_BE_DEFINED)
        elif not source.file.path:
            errors.at(path.field("file").field("path"), MUST_BE_DEFINED)
        elif problem:
            errors.at(path.field("file").field("path"), problem)
    elif kind == "Secret":
        if source.secret_ref is None:
            errors.at(path.field("secretRef"), MUST_BE_DEFINED)
        else:
            if source.secret_ref.kind != "Secret":
                errors.at(
                    path.field("secretRef").field("kind"), must_be_one_of(source.secret_ref.kind, "Secret")
                )
            if not source.secret_ref.name:
                errors.at(path.field("secretRef").field("name"), MUST_BE_DEFINED)
    else:
        errors.at(path.field("type"), must_be_one_of(kind, "EnvVar", "InsecureInline", "File", "Secret"))
    return errors


class _HostnameGeneratorRef(Spec):
    core_name: str


class Address(Spec):
    """A hostname generated for a destination, and what generated it."""

    hostname: str | None = None
    origin: str | None = None
    hostname_generator_ref: _HostnameGeneratorRef | None = None


class HostnameGeneratorStatus(Spec):
    """How one HostnameGenerator fared on a destination."""

    hostname_generator_ref: _HostnameGeneratorRef
    conditions: list[Condition] | None = None


class VIP(Spec):
    """A virtual IP Kuma allocated."""

    ip: str | None = None
