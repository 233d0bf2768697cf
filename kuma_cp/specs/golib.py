"""What Kuma's validators borrow from Go and its libraries, ported: URLs, IPs, file paths, regexps, JSON.

Go's ``net/url`` parser (`parse_url`, with ``url.Parse`` and ``url.ParseRequestURI`` semantics), the
``govalidator`` checks Kuma calls (`is_url`, `is_file_path`, `is_ip`, `is_cidr`, `is_dns_name`,
`is_json`), and whether Go's ``regexp`` compiles a pattern (`go_regexp_compiles`). Go's regular expressions
are RE2: they are run here with the Rust ``regex`` engine pydantic ships, which has the same syntax and
linear-time matching (Python's ``re`` backtracks, and some of govalidator's patterns would explode).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from pydantic_core import CoreConfig, SchemaError, SchemaValidator, core_schema

__all__ = [
    "GoURL",
    "go_regexp_compiles",
    "is_cidr",
    "is_dns_name",
    "is_file_path",
    "is_ip",
    "is_json",
    "is_url",
    "parse_url",
]

_CONFIG = CoreConfig(regex_engine="rust-regex")


@lru_cache(maxsize=256)
def _matcher(pattern: str) -> Callable[[str], bool]:
    validator = SchemaValidator(core_schema.str_schema(pattern=pattern), _CONFIG)
    return validator.isinstance_python


def _ascii_classes(pattern: str) -> str:
    # Go's \d, \s and \S are ASCII-only; Rust's are Unicode-aware
    return pattern.replace(r"\d", "[0-9]").replace(r"\S", r"[^\t\n\f\r ]").replace(r"\s", r"[\t\n\f\r ]")


_LONG_REPEAT = re.compile(r"(?<!\\)\{(\d+)(?:,(\d*))?\}")
_QUOTED = re.compile(r"\\Q(.*?)(?:\\E|$)", re.DOTALL)


def go_regexp_compiles(pattern: str) -> bool:
    """Whether Go's ``regexp.Compile`` accepts *pattern* (RE2 syntax)."""
    pattern = _QUOTED.sub(lambda m: re.escape(m.group(1)), pattern)
    for found in _LONG_REPEAT.finditer(pattern):
        if any(number and int(number) > 1000 for number in found.groups()):
            return False  # RE2's repeat count limit
    try:
        _matcher(pattern)
    except SchemaError:
        return False
    return True


@dataclass
class GoURL:
    """The parts of a URL that Go's ``net/url`` splits out."""

    scheme: str = ""
    opaque: str = ""
    user: str | None = None
    host: str = ""
    path: str = ""
    raw_query: str = ""
    fragment: str = ""

    @property
    def port(self) -> str:
        """Go's ``URL.Port()``."""
        colon = self.host.rfind(":")
        return self.host[colon + 1 :] if colon >= 0 and _valid_port(self.host[colon:]) else ""


def _valid_port(port: str) -> bool:
    return not port or (port[0] == ":" and all("0" <= c <= "9" for c in port[1:]))


_HEX = "0123456789abcdefABCDEF"
_HOST_OK = set("!$&'()*+,;=:[]<>\"-._~")
_USERINFO_OK = set("-._:~!$&'()*+,;=%@")


def _unescape(text: str, *, host: bool = False) -> str:
    out = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "%":
            pair = text[i + 1 : i + 3]
            if len(pair) < 2 or pair[0] not in _HEX or pair[1] not in _HEX:
                raise ValueError("invalid URL escape")
            if host and int(pair[0], 16) < 8 and pair != "25":
                raise ValueError("invalid URL escape")
            out.append(chr(int(pair, 16)))
            i += 3
            continue
        if host and ord(char) < 0x80 and not char.isalnum() and char not in _HOST_OK:
            raise ValueError("invalid character in host name")
        out.append(char)
        i += 1
    return "".join(out)


def _parse_host(host: str) -> str:
    if host.startswith("["):
        end = host.rfind("]")
        if end < 0:
            raise ValueError("missing ']' in host")
        port = host[end + 1 :]
    else:
        colon = host.rfind(":")
        port = host[colon:] if colon >= 0 else ""
    if not _valid_port(port):
        raise ValueError(f"invalid port {port!r} after host")
    return _unescape(host, host=True)


_SCHEME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.")


def _split_scheme(raw: str) -> tuple[str, str]:
    for i, char in enumerate(raw):
        if char.isascii() and char.isalpha():
            continue
        if char in _SCHEME_CHARS:
            if i == 0:
                return "", raw
            continue
        if char == ":":
            if i == 0:
                raise ValueError("missing protocol scheme")
            return raw[:i], raw[i + 1 :]
        return "", raw
    return "", raw


def parse_url(raw: str, *, request: bool = False) -> GoURL | None:
    """Go's ``url.Parse`` (``url.ParseRequestURI`` when *request*): the parts, or None on an error."""
    try:
        return _parse_url(raw, request=request)
    except ValueError:
        return None


def _parse_url(raw: str, *, request: bool) -> GoURL:
    url = GoURL()
    if not request:
        raw, _, fragment = raw.partition("#")
        url.fragment = _unescape(fragment)
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        raise ValueError("net/url: invalid control character in URL")
    if not raw and request:
        raise ValueError("empty url")
    if raw == "*":
        url.path = "*"
        return url
    scheme, rest = _split_scheme(raw)
    url.scheme = scheme.lower()
    if rest.endswith("?") and rest.count("?") == 1:
        rest = rest[:-1]
    else:
        rest, _, url.raw_query = rest.partition("?")
    if not rest.startswith("/"):
        if url.scheme:
            url.opaque = rest
            return url
        if request:
            raise ValueError("invalid URI for request")
        if ":" in rest.partition("/")[0]:
            raise ValueError("first path segment in URL cannot contain colon")
    if (url.scheme or (not request and not rest.startswith("///"))) and rest.startswith("//"):
        authority, slash, path = rest[2:].partition("/")
        rest = slash + path
        user, at, host = authority.rpartition("@")
        url.host = _parse_host(host)
        if at:
            if any(not (c.isascii() and c.isalnum()) and c not in _USERINFO_OK for c in user):
                raise ValueError("net/url: invalid userinfo")
            url.user = _unescape(user)
    url.path = _unescape(rest)
    return url


_IP6 = (
    r"(([0-9a-fA-F]{1,4}:){7,7}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,7}:|([0-9a-fA-F]{1,4}:){1,6}:[0-9a-fA-F]{1,4}"
    r"|([0-9a-fA-F]{1,4}:){1,5}(:[0-9a-fA-F]{1,4}){1,2}|([0-9a-fA-F]{1,4}:){1,4}(:[0-9a-fA-F]{1,4}){1,3}"
    r"|([0-9a-fA-F]{1,4}:){1,3}(:[0-9a-fA-F]{1,4}){1,4}|([0-9a-fA-F]{1,4}:){1,2}(:[0-9a-fA-F]{1,4}){1,5}"
    r"|[0-9a-fA-F]{1,4}:((:[0-9a-fA-F]{1,4}){1,6})|:((:[0-9a-fA-F]{1,4}){1,7}|:)"
    r"|fe80:(:[0-9a-fA-F]{0,4}){0,4}%[0-9a-zA-Z]{1,}"
    r"|::(ffff(:0{1,4}){0,1}:){0,1}((25[0-5]|(2[0-4]|1{0,1}[0-9]){0,1}[0-9])\.){3,3}(25[0-5]|(2[0-4]|1{0,1}[0-9]){0,1}[0-9])"
    r"|([0-9a-fA-F]{1,4}:){1,4}:((25[0-5]|(2[0-4]|1{0,1}[0-9]){0,1}[0-9])\.){3,3}(25[0-5]|(2[0-4]|1{0,1}[0-9]){0,1}[0-9]))"
)
_URL_IP = (
    r"([1-9]\d?|1\d\d|2[01]\d|22[0-3]|24\d|25[0-5])(\.(\d{1,2}|1\d\d|2[0-4]\d|25[0-5])){2}"
    r"(?:\.([0-9]\d?|1\d\d|2[0-4]\d|25[0-5]))"
)
_URL_SUBDOMAIN = r"((www\.)|([a-zA-Z0-9]+([-_\.]?[a-zA-Z0-9])*[a-zA-Z0-9]\.[a-zA-Z0-9]+))"
_URL = _ascii_classes(
    r"^((ftp|tcp|udp|wss?|https?):\/\/)?(\S+(:\S*)?@)?(("
    + _URL_IP
    + r"|(\["
    + _IP6
    + r"\])|(([a-zA-Z0-9]([a-zA-Z0-9-_]+)?[a-zA-Z0-9]([-\.][a-zA-Z0-9]+)*)|("
    + _URL_SUBDOMAIN
    + r"?))?(([a-zA-Z\x{00a1}-\x{ffff}0-9]+-?-?)*[a-zA-Z\x{00a1}-\x{ffff}0-9]+)"
    + r"(?:\.([a-zA-Z\x{00a1}-\x{ffff}]{1,}))?))\.?"
    + r"(:(\d{1,5}))?((\/|\?|#)[^\s]*)?$"
)
_DNS_NAME = r"^([a-zA-Z0-9_]{1}[a-zA-Z0-9_-]{0,62}){1}(\.[a-zA-Z0-9_]{1}[a-zA-Z0-9_-]{0,62})*[\._]?$"
_WIN_PATH = r'^[a-zA-Z]:\\(?:[^\\/:*?"<>|\r\n]+\\)*[^\\/:*?"<>|\r\n]*$'
_UNIX_PATH = r"^(/[^/\x00]*)+/?$"


def is_url(value: str) -> bool:
    """Govalidator's ``IsURL``."""
    if not value or len(value) >= 2083 or len(value.encode()) <= 3 or value.startswith("."):
        return False
    candidate = "http://" + value if ":" in value and "://" not in value else value
    url = parse_url(candidate)
    if url is None or url.host.startswith("."):
        return False
    if not url.host and url.path and "." not in url.path:
        return False
    return _matcher(_URL)(value)


def is_file_path(value: str) -> bool:
    """Govalidator's ``IsFilePath`` (a Windows or a Unix path)."""
    if _matcher(_WIN_PATH)(value):
        return len(value[3:].encode()) <= 32767
    return _matcher(_UNIX_PATH)(value)


def is_ip(value: str) -> bool:
    """Govalidator's ``IsIP`` (Go's ``net.ParseIP``: no zone, no leading zeros)."""
    if "%" in value or not value.isascii():
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_cidr(value: str) -> bool:
    """Govalidator's ``IsCIDR`` (Go's ``net.ParseCIDR``: host bits may be set)."""
    address, slash, bits = value.partition("/")
    if not slash or not is_ip(address) or not bits.isascii() or not bits.isdigit():
        return False
    return int(bits) <= (32 if "." in address and ":" not in address else 128)


def is_dns_name(value: str) -> bool:
    """Govalidator's ``IsDNSName``."""
    if not value or len(value.replace(".", "").encode()) > 255:
        return False
    return not is_ip(value) and _matcher(_DNS_NAME)(value)


def _no_constant(name: str) -> float:
    raise ValueError(name)


def is_json(text: str) -> bool:
    """Govalidator's ``IsJSON`` (Go's ``json.Unmarshal`` accepts it)."""
    try:
        json.loads(text, parse_constant=_no_constant)
    except ValueError:
        return False
    return True
