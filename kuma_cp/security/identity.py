"""Who a caller is: `User`, the anonymous and admin users, and Kuma's direct-loopback admin rule.

`is_local_admin` ports Kuma's ``isDirectLoopbackRequest`` (the CVE-2026-45021 fix): a request is
from a local admin only if it reached the server directly over loopback, names a loopback Host, and
is not a browser request on behalf of another site. Each condition alone denies admin.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any

from attrs import field, frozen

__all__ = ["ADMIN", "ANONYMOUS", "AUTHENTICATED", "User", "is_local_admin", "request_headers"]

AUTHENTICATED = "mesh-system:authenticated"
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*)://(.*)", re.DOTALL)
_HOSTNAME = re.compile(r"[A-Za-z0-9._\-]+")
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _groups(groups: Iterable[str]) -> tuple[str, ...]:
    return tuple(groups)


@frozen
class User:
    """An API caller.

    Attributes:
        name: the user name (``mesh-system:admin``, a token's ``Name``).
        groups: the user's groups.
    """

    name: str
    groups: tuple[str, ...] = field(default=(), converter=_groups)

    def __str__(self) -> str:
        # Kuma's form in access-denied messages: name/group1,group2
        return f"{self.name}/{','.join(self.groups)}"


ANONYMOUS = User("mesh-system:anonymous", ("mesh-system:unauthenticated",))
ADMIN = User("mesh-system:admin", ("mesh-system:admin", AUTHENTICATED))


def request_headers(scope: Mapping[str, Any]) -> dict[str, str]:
    """The first value of each request header, by lowercase name (Go's ``Header.Get``)."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", ()):
        headers.setdefault(raw_name.decode("latin-1").lower(), raw_value.decode("latin-1"))
    return headers


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if "%" in host:  # Go's net.ParseIP refuses zones
        return None
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _canonical(host: str) -> str:
    host = host.lower().removesuffix(".")
    ip = _ip(host)
    return str(ip) if ip is not None else host


def _is_loopback_host(host: str) -> bool:
    host = host.lower().removesuffix(".")
    if host == "localhost":
        return True
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    ip = _ip(host)
    return ip is not None and ip.is_loopback


def _authority(scheme: str, hostport: str) -> tuple[str, str] | None:
    """(canonical host, port) of a URL authority, the scheme's default port if none; None if malformed."""
    if not hostport or hostport.endswith(":") or any(c in hostport for c in "@/?#\\ "):
        return None
    if hostport.startswith("["):
        host, bracket, rest = hostport[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")) or _ip(host) is None:
            return None
        port = rest[1:]
    else:
        host, _, port = hostport.partition(":")
        if ":" in port or not _HOSTNAME.fullmatch(host):
            return None
    port = port or _DEFAULT_PORTS.get(scheme, "")
    if not (port.isascii() and port.isdigit() and 0 < int(port) <= 65535):
        return None
    host = _canonical(host)
    return (host, str(int(port))) if host else None


def _same_origin_loopback(origin: str, request_host: str) -> bool:
    if origin == "":
        return True
    match = _SCHEME.fullmatch(origin)  # "null", paths, queries and fragments never match
    if match is None:
        return False
    scheme, hostport = match.group(1).lower(), match.group(2)
    if scheme not in _DEFAULT_PORTS:
        return False
    origin_authority = _authority(scheme, hostport)
    if origin_authority is None or not _is_loopback_host(origin_authority[0]):
        return False
    return origin_authority == _authority(scheme, request_host)


def _has_proxy_headers(raw: Iterable[tuple[bytes, bytes]]) -> bool:
    proxy = {b"forwarded", b"x-forwarded-for", b"x-real-ip"}
    return any(name.lower() in proxy and value.strip() for name, value in raw)


def is_local_admin(scope: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> bool:
    """Whether the ASGI HTTP request in *scope* is a direct loopback call, hence Kuma's local admin.

    All must hold: the peer address is loopback; no non-empty ``Forwarded``, ``X-Forwarded-For`` or
    ``X-Real-IP``; ``Host`` is a loopback host (``localhost``, ``127.0.0.0/8``, ``[::1]``) with a valid
    port if any; ``Sec-Fetch-Site`` is absent, ``same-origin`` or ``none``; ``Origin`` is absent or an
    http(s) origin (no path, query or user info) with the same host and port as ``Host``. *headers* is
    `request_headers` of *scope*, when the caller has it already.
    """
    client = scope.get("client")
    if not client or not isinstance(client[0], str):
        return False
    if _has_proxy_headers(scope.get("headers", ())):
        return False
    if headers is None:
        headers = request_headers(scope)
    facts = (client[0], headers.get("host", ""), headers.get("sec-fetch-site", ""), headers.get("origin", ""))
    if sum(map(len, facts)) > 512:  # the cache holds short values only: its memory stays small
        return _direct_loopback(*facts)
    return _remembered_direct_loopback(*facts)


def _direct_loopback(client: str, host: str, fetch_site: str, origin: str) -> bool:
    if not _is_loopback_host(client):
        return False
    authority = _authority("http", host)
    if authority is None or not _is_loopback_host(authority[0]):
        return False
    if fetch_site not in ("", "same-origin", "none"):
        return False
    return _same_origin_loopback(origin, host)


# A few clients ask again and again: each one's answer is parsed once.
_remembered_direct_loopback = functools.lru_cache(maxsize=256)(_direct_loopback)
