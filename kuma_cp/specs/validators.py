"""Kuma's semantic validation kit (``pkg/core/validators``): paths, violation lists, messages, checks.

A type's validator receives its decoded spec and returns an `Errors`; paths are built as Kuma builds
them (`Path`: ``spec.to[0].default``, ``labels["kuma.io/zone"]``), and nested errors are re-rooted with
`Errors.add_at`, as Go's ``AddErrorAt``. The checks below keep Kuma's messages word for word, since
clients match on them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from kuma_cp.specs.base import parse_go_duration
from kuma_cp.specs.golib import is_file_path

__all__ = [
    "HAS_TO_BE_GREATER_THAN",
    "HAS_TO_BE_GREATER_THAN_ZERO",
    "MUST_BE_DEFINED",
    "MUST_BE_DEFINED_AND_GREATER_THAN_ZERO",
    "MUST_BE_SET",
    "MUST_NOT_BE_DEFINED",
    "MUST_NOT_BE_EMPTY",
    "MUST_NOT_BE_SET",
    "Errors",
    "Path",
    "go_quote",
    "in_range",
]

HAS_TO_BE_GREATER_THAN = "must be greater than"
HAS_TO_BE_LESS_THAN = "must be less than"
HAS_TO_BE_GREATER_OR_EQUAL_THEN = "must be greater or equal then"
HAS_TO_BE_GREATER_THAN_ZERO = "must be greater than 0"
MUST_NOT_BE_EMPTY = "must not be empty"
MUST_BE_DEFINED = "must be defined"
MUST_BE_SET = "must be set"
MUST_NOT_BE_SET = "must not be set"
MUST_NOT_BE_DEFINED = "must not be defined"
MUST_BE_DEFINED_AND_GREATER_THAN_ZERO = "must be defined and greater than zero"
WHEN_DEFINED_HAS_TO_BE_NON_NEGATIVE = "must not be negative when defined"
WHEN_DEFINED_HAS_TO_BE_GREATER_THAN_ZERO = "must be greater than zero when defined"
STRING_HAS_TO_BE_VALID_NUMBER = "string must be a valid number"
MUST_HAVE_BPS_UNIT = "must be in kbps/Mbps/Gbps units"
_BANDWIDTH = re.compile(r"(\d*)\s?([GMk]+bps)")


def in_range(low: object, high: object) -> str:
    """Kuma's ``HasToBeInRangeFormat``: ``must be in inclusive range [0, 100]``."""
    return f"must be in inclusive range [{low}, {high}]"


HAS_TO_BE_IN_PERCENTAGE_RANGE = in_range("0.0", "100.0")
HAS_TO_BE_IN_UINT_PERCENTAGE_RANGE = in_range(0, 100)


def go_quote(value: str) -> str:
    """Go's ``%q`` of a string (close enough for names, keys and values)."""
    return json.dumps(value, ensure_ascii=False)


def must_be_one_of(entity: str, *allowed: str) -> str:
    """Kuma's ``MustBeOneOf``."""
    return f"{entity} must be one of: {', '.join(allowed)}"


def must_have_only_one(entity: str, *allowed: str) -> str:
    """Kuma's ``MustHaveOnlyOne``."""
    return f"{entity} must have only one type defined: {', '.join(allowed)}"


def must_have_exactly_one_of(entity: str, *allowed: str) -> str:
    """Kuma's ``MustHaveExactlyOneOf``."""
    return f"{entity} must have exactly one defined: {', '.join(allowed)}"


class Path:
    """Kuma's ``PathBuilder``: ``Path.rooted_at("spec").field("to").index(0)`` is ``spec.to[0]``."""

    __slots__ = ("_text",)

    def __init__(self, text: str = "") -> None:
        self._text = text  # the joined path: what Go's String() gives

    @classmethod
    def rooted_at(cls, name: str) -> Path:
        """A path starting at field *name*."""
        return cls(name)

    @classmethod
    def root(cls) -> Path:
        """The empty path."""
        return cls()

    def field(self, name: str) -> Path:
        """The path of field *name* below this one."""
        return Path(f"{self._text}.{name}" if self._text else name)

    def index(self, index: int) -> Path:
        """The path of item *index* below this one."""
        return Path(f"{self._text}[{index}]")

    def key(self, key: str) -> Path:
        """The path of map key *key* below this one (``["key"]``)."""
        return Path(f"{self._text}[{go_quote(key)}]")

    def concat(self, other: Path) -> Path:
        """*other* appended below this path (Go's ``concat``)."""
        if not other._text:
            return self
        if not self._text:
            return other
        joiner = "" if other._text.startswith("[") else "."
        return Path(self._text + joiner + other._text)

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"Path({self._text!r})"


class Errors:
    """Kuma's ``ValidationError``: an ordered list of (field, message) violations."""

    __slots__ = ("violations",)

    def __init__(self) -> None:
        self.violations: list[tuple[str, str]] = []

    def violation(self, field: str, message: str) -> None:
        """Add a violation at *field* (Go's ``AddViolation``)."""
        self.violations.append((field, message))

    def at(self, path: Path, message: str) -> None:
        """Add a violation at *path* (Go's ``AddViolationAt``)."""
        self.violations.append((str(path), message))

    def add_at(self, path: Path, other: Errors) -> None:
        """Add *other*'s violations re-rooted at *path* (Go's ``AddErrorAt``)."""
        for field, message in other.violations:
            inner = Path.rooted_at(field) if field else Path.root()
            self.violations.append((str(path.concat(inner)), message))

    def add(self, other: Errors) -> None:
        """Add *other*'s violations as they are (Go's ``Add``)."""
        self.violations.extend(other.violations)

    def __bool__(self) -> bool:
        return bool(self.violations)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.violations)

    def __repr__(self) -> str:
        return f"Errors({self.violations!r})"


def _seconds(duration: str | None) -> float | None:
    return None if duration is None else parse_go_duration(duration)


def duration_not_negative(path: Path, duration: str | None) -> Errors:
    """``ValidateDurationNotNegative``: defined and not negative."""
    errors = Errors()
    seconds = _seconds(duration)
    if seconds is None:
        errors.at(path, MUST_BE_DEFINED)
    elif seconds < 0:
        errors.at(path, WHEN_DEFINED_HAS_TO_BE_NON_NEGATIVE)
    return errors


def duration_not_negative_or_nil(path: Path, duration: str | None) -> Errors:
    """``ValidateDurationNotNegativeOrNil``."""
    errors = Errors()
    seconds = _seconds(duration)
    if seconds is not None and seconds < 0:
        errors.at(path, WHEN_DEFINED_HAS_TO_BE_NON_NEGATIVE)
    return errors


def duration_greater_than_zero(path: Path, duration: str | None) -> Errors:
    """``ValidateDurationGreaterThanZero`` (an absent duration is zero)."""
    errors = Errors()
    if (_seconds(duration) or 0.0) <= 0:
        errors.at(path, MUST_BE_DEFINED_AND_GREATER_THAN_ZERO)
    return errors


def duration_greater_than_zero_or_nil(path: Path, duration: str | None) -> Errors:
    """``ValidateDurationGreaterThanZeroOrNil``."""
    errors = Errors()
    seconds = _seconds(duration)
    if seconds is not None and seconds <= 0:
        errors.at(path, WHEN_DEFINED_HAS_TO_BE_GREATER_THAN_ZERO)
    return errors


def value_greater_than_zero(path: Path, value: int | None) -> Errors:
    """``ValidateValueGreaterThanZero`` (an absent value is zero)."""
    errors = Errors()
    if (value or 0) <= 0:
        errors.at(path, MUST_BE_DEFINED_AND_GREATER_THAN_ZERO)
    return errors


def value_greater_than_zero_or_nil(path: Path, value: int | None) -> Errors:
    """``ValidateValueGreaterThanZeroOrNil``."""
    errors = Errors()
    if value is not None and value <= 0:
        errors.at(path, WHEN_DEFINED_HAS_TO_BE_GREATER_THAN_ZERO)
    return errors


def int_percentage_or_nil(path: Path, value: int | None) -> Errors:
    """``ValidateIntPercentageOrNil`` and ``ValidateUInt32PercentageOrNil``: 0 to 100."""
    errors = Errors()
    if value is not None and not 0 <= value <= 100:
        errors.at(path, HAS_TO_BE_IN_UINT_PERCENTAGE_RANGE)
    return errors


_SIGNED_DIGITS = re.compile(r"[+-]?[0-9]+")


def decimal_of(value: int | str) -> Decimal | None:
    """Kuma's ``NewDecimalFromIntOrString`` (shopspring's ``NewFromString``): None when Go refuses it.

    ASCII digits only, one point, an optional exponent: no spaces, underscores, ``inf`` or ``nan``.
    """
    if isinstance(value, int):
        return Decimal(value)
    text, exponent = value, 0
    marker = min((i for i in (value.find("e"), value.find("E")) if i >= 0), default=-1)
    if marker >= 0:
        if not _SIGNED_DIGITS.fullmatch(value[marker + 1 :]):
            return None
        exponent, text = int(value[marker + 1 :]), value[:marker]
        if not -(1 << 31) <= exponent < 1 << 31:
            return None
    digits = text.replace(".", "", 1)
    if "." in digits or not _SIGNED_DIGITS.fullmatch(digits):
        return None
    decimals = len(text) - text.index(".") - 1 if "." in text else 0
    return Decimal(digits).scaleb(exponent - decimals)


def percentage(path: Path, value: Any, *, allow_zero: bool) -> Errors:
    """``ValidatePercentage``: an int-or-string between 0 and 100 (above 0 unless *allow_zero*)."""
    errors = Errors()
    if value is None:
        errors.at(path, MUST_BE_DEFINED)
        return errors
    return percentage_or_nil(path, value, allow_zero=allow_zero)


def percentage_or_nil(path: Path, value: Any, *, allow_zero: bool = True) -> Errors:
    """``ValidatePercentageOrNil``."""
    errors = Errors()
    if value is None:
        return errors
    number = decimal_of(value)
    if number is None:
        errors.at(path, STRING_HAS_TO_BE_VALID_NUMBER)
    elif number < 0 or number > 100:
        errors.at(path, HAS_TO_BE_IN_PERCENTAGE_RANGE)
    elif not allow_zero and number == 0:
        errors.at(path, HAS_TO_BE_GREATER_THAN_ZERO)
    return errors


def int_or_string_at_least(path: Path, value: Any, minimum: int) -> Errors:
    """``ValidateIntOrStringGreaterOrEqualThan``."""
    errors = Errors()
    if value is None:
        return errors
    number = decimal_of(value)
    if number is None:
        errors.at(path, STRING_HAS_TO_BE_VALID_NUMBER)
    elif number < minimum:
        errors.at(path, f"{HAS_TO_BE_GREATER_OR_EQUAL_THEN}: {minimum}")
    return errors


def string_defined(path: Path, value: str | None) -> Errors:
    """``ValidateStringDefined``."""
    errors = Errors()
    if not value:
        errors.at(path, MUST_BE_DEFINED)
    return errors


def status_code(path: Path, status: int) -> Errors:
    """``ValidateStatusCode``: 100 to 599."""
    errors = Errors()
    if not 100 <= status < 600:
        errors.at(path, in_range(100, 599))
    return errors


def integer_greater_than(path: Path, value: int | None, minimum: int) -> Errors:
    """``ValidateIntegerGreaterThan`` (``ValidateIntegerGreaterThanZeroOrNil`` with 0 and None)."""
    errors = Errors()
    if value is not None and value <= minimum:
        errors.at(path, f"{HAS_TO_BE_GREATER_THAN} {minimum}")
    return errors


def bandwidth(path: Path, value: str | None) -> Errors:
    """``ValidateBandwidth``: ``10 Mbps``, ``1Gbps``..."""
    errors = Errors()
    if not value:
        errors.at(path, MUST_BE_DEFINED)
    elif not _BANDWIDTH.fullmatch(value):
        errors.at(path, MUST_HAVE_BPS_UNIT)
    return errors


def must_be_nil(path: Path, value: object, message: str) -> Errors:
    """``ValidateNil``: a violation when *value* is set."""
    errors = Errors()
    if value is not None:
        errors.at(path, message)
    return errors


def port(path: Path, value: int) -> Errors:
    """``validators.ValidatePort``: 1 to 65535."""
    errors = Errors()
    if not 0 < value <= 65535:
        errors.at(path, "port must be a valid (1-65535)")
    return errors


def max_length(path: Path, limit: int, value: str) -> Errors:
    """``ValidateLength``: at most *limit* bytes."""
    errors = Errors()
    if len(value.encode()) > limit:
        errors.at(path, f"must not be longer than {limit} characters")
    return errors


# --- OpenTelemetry backends and one-of messages (appended for the observability policies) ---

MUST_BE_STATIC_OTEL_ATTRIBUTE_NAME = (
    "must be a static OpenTelemetry attribute name; placeholders are only supported in values"
)
MUST_NOT_USE_RESERVED_OTEL_PREFIX = "must not use the reserved OpenTelemetry prefix 'otel.'"
MUST_MATCH_OTEL_ATTRIBUTE_NAME_FORMAT = (
    "must start with a lowercase letter, use only lowercase letters, digits, '.' or '_', avoid"
    " consecutive delimiters, and end with a letter or digit"
)
_OTEL_ATTRIBUTE_NAME = re.compile(r"[a-z](?:[a-z0-9]|[._][a-z0-9])*")
BACKEND_RESOURCE_KINDS = ("MeshOpenTelemetryBackend",)


def one_of_message(
    field_a: str, message: str, allowed: tuple[str, ...] | list[str], field_b: str = ""
) -> str:
    """The message of Kuma's ``MakeOneOfErr``: ``"op" must be one of ["add", "remove"]``."""
    quoted = ", ".join(go_quote(value) for value in allowed)
    if field_b:
        return f"{go_quote(field_a)} {message} when {go_quote(field_b)} is one of [{quoted}]"
    return f"{go_quote(field_a)} {message} one of [{quoted}]"


def field_must_be_one_of(field: str, *allowed: str) -> Errors:
    """Kuma's ``MakeFieldMustBeOneOfErr``: one violation at the root of the returned errors."""
    errors = Errors()
    errors.violation("", one_of_message(field, "must be", allowed))
    return errors


def otel_attribute_name(path: Path, value: str) -> Errors:
    """``ValidateOtelAttributeName``: a static, unreserved OpenTelemetry attribute key."""
    errors = Errors()
    if not value:
        errors.at(path, MUST_BE_DEFINED)
    elif "%" in value:
        errors.at(path, MUST_BE_STATIC_OTEL_ATTRIBUTE_NAME)
    elif value.startswith("otel."):
        errors.at(path, MUST_NOT_USE_RESERVED_OTEL_PREFIX)
    elif not _OTEL_ATTRIBUTE_NAME.fullmatch(value):
        errors.at(path, MUST_MATCH_OTEL_ATTRIBUTE_NAME_FORMAT)
    return errors


def backend_resource_ref(ref: Any) -> Errors:
    """``ValidateBackendResourceRef``: a known kind, and labels to select the backend with."""
    errors = Errors()
    if ref is None:
        return errors
    if ref.kind not in BACKEND_RESOURCE_KINDS:
        errors.add_at(Path.rooted_at("kind"), field_must_be_one_of("kind", *BACKEND_RESOURCE_KINDS))
    if not ref.labels:
        errors.violation("", must_have_exactly_one_of("backendRef", "labels"))
    return errors


def otel_backend_ref_or_endpoint(
    endpoint: str, ref: Any, *extra_endpoint_checks: Callable[[str], Errors]
) -> Errors:
    """``ValidateOtelBackendRefOrEndpoint``: exactly one of an endpoint (``host:port``) or a backendRef."""
    errors = Errors()
    if endpoint and ref is not None:
        errors.violation("", must_have_only_one("openTelemetry", "endpoint", "backendRef"))
    elif not endpoint and ref is None:
        errors.violation("", must_have_exactly_one_of("openTelemetry", "endpoint", "backendRef"))
    elif ref is not None:
        errors.add_at(Path.rooted_at("backendRef"), backend_resource_ref(ref))
    elif any(char in endpoint for char in "/?#"):
        errors.at(Path.rooted_at("endpoint"), "must be in host:port format, not a URL")
    else:
        for check in extra_endpoint_checks:
            errors.add(check(endpoint))
    return errors


# --- RFC 1123 subdomains, file paths, duration bounds (appended for the traffic and resilience policies) ---

WHEN_DEFINED_HAS_TO_BE_VALID_PATH = "must be a valid path when defined"
_RFC1123_PART = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
RFC1123_SUBDOMAIN_FORMAT = _RFC1123_PART + r"(\." + _RFC1123_PART + ")*"


def rfc1123_subdomain_errors(value: str) -> list[str]:
    """Kubernetes' ``IsDNS1123Subdomain``: why *value* is not a lowercase RFC 1123 subdomain."""
    reasons = []
    if len(value.encode()) > 253:
        reasons.append("must be no more than 253 characters")
    if re.fullmatch(RFC1123_SUBDOMAIN_FORMAT, value) is None:
        reasons.append(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters,"
            " '-' or '.', and must start and end with an alphanumeric character"
            f" (e.g. 'example.com', regex used for validation is '{RFC1123_SUBDOMAIN_FORMAT}')"
        )
    return reasons


def file_path_or_nil(path: Path, value: str | None) -> Errors:
    """``ValidatePathOrNil``: govalidator's ``IsFilePath`` (an absolute Windows or Unix path)."""
    errors = Errors()
    if value is None:
        return errors
    if not is_file_path(value):
        errors.at(path, WHEN_DEFINED_HAS_TO_BE_VALID_PATH)
    return errors


def duration_greater_than(path: Path, duration: str | None, minimum: str) -> Errors:
    """``ValidateDurationGreaterThan``: defined and above *minimum* (a Go duration in its own spelling)."""
    errors = Errors()
    if duration is None:
        errors.at(path, MUST_BE_DEFINED)
    elif round(parse_go_duration(duration) * 1e9) <= round(parse_go_duration(minimum) * 1e9):
        errors.at(path, f"{HAS_TO_BE_GREATER_THAN}: {minimum}")
    return errors
