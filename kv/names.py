"""The grammar of keys and labels: what every backend can store, checked once before any driver runs.

The grammar is the intersection of what memory, Postgres (Kuma's ``resources`` table) and Kubernetes
(Kuma's CRDs) accept, so a record the memory store takes is a record every store takes:

- **type**: an upper-camel-case identifier ``[A-Z][A-Za-z0-9]*``, at most 63 characters (a Kubernetes kind
  whose plural must fit a DNS label).
- **name**: a lowercase RFC 1123 subdomain, 1 to 253 characters: ``a-z``, ``0-9``, ``-`` and ``.``,
  starting and ending with a letter or digit (``web-1.kuma-demo``). Kubernetes requires more of
  namespaced kinds (``name.namespace``); its driver says so with `Invalid` (as Kuma's does).
- **mesh**: ``""`` for global types; otherwise a name as above of at most 63 characters (it is stored as
  a Kubernetes label value and in Kuma's ``varchar(100)`` column).
- **owner**: a valid key of a registered type whose name is at most 100 characters (Kuma's
  ``owner_name varchar(100)`` column).
- **label keys**: Kubernetes qualified names (``[prefix/]name``: prefix a subdomain of at most 253
  characters, name at most 63 of ``[A-Za-z0-9._-]``, alphanumeric at both ends).
- **label values**: Kubernetes label values (at most 63 of ``[A-Za-z0-9._-]``, alphanumeric at both ends,
  or empty), except keys the catalog lists as free text: any string up to 4096 characters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from kv.errors import Invalid, quote
from kv.model import Catalog, Key, Scope

__all__ = ["check_key", "check_labels", "check_name", "check_owner", "utc"]

_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_TYPE = re.compile(r"[A-Z][A-Za-z0-9]*")
_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_SUBDOMAIN_RULE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character"
)
_LABEL_RULE = (
    "must consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
MAX_NAME = 253
MAX_MESH = 63
MAX_TYPE = 63
MAX_OWNER_NAME = 100
MAX_LABEL_NAME = 63
MAX_FREE_LABEL_VALUE = 4096


def _check_subdomain(what: str, value: object, limit: int) -> None:
    if not isinstance(value, str):
        raise Invalid(f"{what} must be a string, not {type(value).__name__}")
    if not value:
        raise Invalid(f"{what} can't be empty")
    if len(value) > limit:
        raise Invalid(f"{what} {quote(value[:40])}... is {len(value)} characters; at most {limit}")
    if not _SUBDOMAIN.fullmatch(value):
        raise Invalid(f"{what} {quote(value)} is not valid: {_SUBDOMAIN_RULE}")


def check_type(catalog: Catalog, type_name: object) -> Scope | None:
    """Check a type name; return its scope, or None when the catalog registers no types."""
    if not isinstance(type_name, str) or not _TYPE.fullmatch(type_name) or len(type_name) > MAX_TYPE:
        raise Invalid(f"type {quote(str(type_name))} is not valid: want [A-Z][A-Za-z0-9]*, at most 63")
    if not catalog.types:
        return None
    described = catalog.types.get(type_name)
    if described is None:
        raise Invalid(f"unknown type {quote(type_name)}")
    return described.scope


def check_mesh(scope: Scope | None, mesh: object) -> None:
    """Check a mesh against the scope of its type (None: unknown scope, any valid mesh or "")."""
    if scope is Scope.GLOBAL:
        if mesh != "":
            raise Invalid(f"mesh must be empty for a global type, got {quote(str(mesh))}")
    elif scope is Scope.MESH or mesh != "":
        _check_subdomain("mesh", mesh, MAX_MESH)


def check_key(catalog: Catalog, key: object) -> Key:
    """Return *key* if every backend can store it, else raise `Invalid`."""
    if not isinstance(key, Key):
        raise Invalid(f"key must be a kv.Key, not {type(key).__name__}")
    scope = check_type(catalog, key.type)
    check_mesh(scope, key.mesh)
    _check_subdomain("name", key.name, MAX_NAME)
    return key


def check_name(name: object) -> None:
    """Check a record name (a lowercase RFC 1123 subdomain of at most 253 characters)."""
    _check_subdomain("name", name, MAX_NAME)


def check_owner(catalog: Catalog, owner: object) -> Key:
    """Check an owner key: a valid key whose name fits Kuma's ``owner_name`` column."""
    key = check_key(catalog, owner)
    if len(key.name) > MAX_OWNER_NAME:
        raise Invalid(f"owner name is {len(key.name)} characters; at most {MAX_OWNER_NAME}")
    return key


_CHECKED_LIMIT = 4096  # label keys and values already found valid, remembered (then forgotten at once)
_valid_label_keys: set[str] = set()
_valid_label_values: set[str] = set()


def _remember(valid: set[str], value: str) -> None:
    if len(valid) >= _CHECKED_LIMIT:
        valid.clear()
    valid.add(value)


def _check_label_key(key: object) -> None:
    if type(key) is str and key in _valid_label_keys:
        return
    _check_new_label_key(key)
    if type(key) is str:
        _remember(_valid_label_keys, key)


def _check_new_label_key(key: object) -> None:
    if not isinstance(key, str):
        raise Invalid(f"label keys must be strings, not {type(key).__name__}")
    prefix, slash, name = key.rpartition("/")
    if slash:
        _check_subdomain(f"label key prefix of {quote(key)}", prefix, MAX_NAME)
    if not name or len(name) > MAX_LABEL_NAME or not _LABEL_NAME.fullmatch(name):
        raise Invalid(f"label key {quote(key)} is not valid: name part {_LABEL_RULE}, at most 63")


def check_labels(catalog: Catalog, labels: Mapping[Any, Any]) -> dict[str, str]:
    """Return a copy of *labels* if every backend can store them, else raise `Invalid`."""
    if not isinstance(labels, Mapping):
        raise Invalid(f"labels must be a mapping, not {type(labels).__name__}")
    checked: dict[str, str] = {}
    for key, value in labels.items():
        _check_label_key(key)
        if not isinstance(value, str):
            raise Invalid(f"label {quote(key)} must have a string value, not {type(value).__name__}")
        if key in catalog.free_label_keys:
            if len(value) > MAX_FREE_LABEL_VALUE or "\x00" in value:
                raise Invalid(f"label {quote(key)}: at most {MAX_FREE_LABEL_VALUE} characters, no NUL")
        elif type(value) is not str or value not in _valid_label_values:
            if value and (len(value) > MAX_LABEL_NAME or not _LABEL_NAME.fullmatch(value)):
                raise Invalid(f"label {quote(key)} value {quote(value[:70])} is not valid: {_LABEL_RULE}")
            if type(value) is str:
                _remember(_valid_label_values, value)
        checked[key] = value
    return checked


def utc(what: str, value: object) -> datetime:
    """Return *value* as a timezone-aware UTC datetime; naive or non-datetime values are `Invalid`."""
    if not isinstance(value, datetime):
        raise Invalid(f"{what} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise Invalid(f"{what} must be timezone-aware")
    return value.astimezone(UTC)
