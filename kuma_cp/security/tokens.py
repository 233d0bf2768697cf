"""User tokens: Kuma's RS256 JWTs, signed with keys kept as GlobalSecrets so every instance shares them.

- Signing keys: GlobalSecret ``user-token-signing-key-<serial>`` (``user-token-signing-key``, serial 0,
  for legacy installs), data = a PEM PKCS#1 RSA private key. `ensure_signing_key` creates serial 1 when
  there is none; the issuer signs with the highest serial, which is the token's ``kid``.
- Revocations: GlobalSecret ``user-token-revocations``, data = comma-separated token ids (``jti``).
- Claims: ``Name``, ``Groups`` (null if none), ``exp``, ``nbf``, ``iat`` (issued 5 s in the past, for
  clock skew), ``jti``. Validation: RS256 only, ``kid`` names a key in the store, ``exp``/``nbf``
  checked when present without leeway (as golang-jwt), not revoked.

Secrets are read through a cache of at most one second, so keys and revocations written by another
instance on the same database are honoured within a second. Never log a token or key: reasons only.
"""

from __future__ import annotations

import base64
import contextlib
import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import kv
from kuma_cp.security.identity import AUTHENTICATED, User

__all__ = [
    "ADMIN_TOKEN",
    "REVOCATIONS",
    "SIGNING_KEY_PREFIX",
    "InvalidToken",
    "NoSigningKey",
    "SecretReader",
    "TokenIssuer",
    "TokenValidator",
    "bootstrap_admin_token",
    "ensure_signing_key",
]

GLOBAL_SECRET = "GlobalSecret"
SIGNING_KEY_PREFIX = "user-token-signing-key"
REVOCATIONS = "user-token-revocations"
ADMIN_TOKEN = "admin-user-token"
ADMIN_TOKEN_VALIDITY = timedelta(hours=87600)
_SERIAL = re.compile(rf"{SIGNING_KEY_PREFIX}(?:-([0-9]+))?")
_ALG = "RS256"


class InvalidToken(Exception):
    """A token that does not authenticate anyone; `reason` is for logs, never for the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NoSigningKey(Exception):
    """There is no signing key in the store to issue tokens with."""


def _store(manager_or_store: Any) -> Any:
    # A ResourceManager wraps the store it writes to; anything else is used as the store.
    from kuma_cp.manager import ResourceManager

    return manager_or_store.store if isinstance(manager_or_store, ResourceManager) else manager_or_store


def _data(record: kv.Record) -> bytes:
    value = record.spec.get("data", "")
    return base64.b64decode(value) if isinstance(value, str) else b""


def _put(store: Any, name: str, data: bytes) -> None:
    """Create GlobalSecret *name* holding *data*; `kv.AlreadyExists` if it exists."""
    spec = {"data": base64.b64encode(data).decode("ascii")}
    store.create(kv.Record(key=kv.Key(GLOBAL_SECRET, "", name), spec=spec))


def _key_name(serial: int) -> str:
    return f"{SIGNING_KEY_PREFIX}-{serial}" if serial else SIGNING_KEY_PREFIX


def _serials(store: Any) -> list[int]:
    page = store.list(GLOBAL_SECRET, name_contains=SIGNING_KEY_PREFIX)
    found = (_SERIAL.fullmatch(record.key.name) for record in page.items)
    return sorted(int(m.group(1) or 0) for m in found if m)


def ensure_signing_key(manager_or_store: Any) -> int:
    """Create ``user-token-signing-key-1`` unless a signing key exists; return the highest serial.

    Safe to run on every instance at once: a create lost to another instance is not an error.
    """
    store = _store(manager_or_store)
    serials = _serials(store)
    if serials:
        return serials[-1]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,  # PKCS#1 "RSA PRIVATE KEY", as Kuma
        serialization.NoEncryption(),
    )
    with contextlib.suppress(kv.AlreadyExists):  # another instance created one first: as good
        _put(store, _key_name(1), pem)
    return _serials(store)[-1]


class SecretReader:
    """GlobalSecret contents by name, cached for at most *ttl* seconds (misses included)."""

    def __init__(self, store: Any, *, ttl: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._store = _store(store)
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, bytes | None]] = {}

    def read(self, name: str) -> bytes | None:
        """The secret's data, or None when there is no such GlobalSecret (or no such valid name)."""
        now = self._clock()
        with self._lock:
            cached = self._cache.get(name)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        try:
            data: bytes | None = _data(self._store.get(GLOBAL_SECRET, "", name))
        except (kv.NotFound, kv.Invalid):
            data = None
        with self._lock:
            self._cache[name] = (now, data)
        return data


class TokenIssuer:
    """Issues user tokens signed with the store's newest signing key.

    Args:
        store: the store (or resource manager) holding the signing keys.
        clock: the current time in seconds since the epoch.
    """

    def __init__(self, store: Any, *, clock: Callable[[], float] = time.time) -> None:
        self._store = _store(store)
        self._clock = clock

    def issue(self, name: str, groups: Any, valid_for: timedelta) -> str:
        """A signed token for *name* in *groups* (None or empty: ``"Groups": null``), valid for *valid_for*.

        Raises:
            NoSigningKey: no signing key in the store (run `ensure_signing_key` first).
        """
        serials = _serials(self._store)
        if not serials:
            raise NoSigningKey("there is no signing key in the store")
        record = self._store.get(GLOBAL_SECRET, "", _key_name(serials[-1]))
        key = serialization.load_pem_private_key(_data(record), password=None)
        now = int(self._clock())
        claims = {
            "Name": name,
            "Groups": list(groups) if groups else None,
            "exp": now + int(valid_for.total_seconds()),
            "nbf": now - 5,
            "iat": now - 5,
            "jti": str(uuid.uuid4()),
        }
        headers = {"kid": str(serials[-1]), "typ": "JWT"}
        return jwt.encode(claims, key, algorithm=_ALG, headers=headers)  # type: ignore[arg-type]


class TokenValidator:
    """Validates user tokens against the store's signing keys and revocation list.

    Args:
        store: the store (or resource manager) holding keys and revocations.
        ttl: how long a read secret may be reused, in seconds (at most 1 so instances agree quickly).
    """

    def __init__(self, store: Any, *, ttl: float = 1.0) -> None:
        self._secrets = SecretReader(store, ttl=min(ttl, 1.0))
        self._keys: dict[bytes, Any] = {}  # PEM -> public key; parsing a private key is slow
        self._lock = threading.Lock()

    def _public_key(self, kid: str) -> Any:
        if not kid.isascii() or not kid.isdigit():
            raise InvalidToken("there is no signing key in the Control Plane for the kid")
        pem = self._secrets.read(_key_name(int(kid)))
        if pem is None:
            raise InvalidToken(f"there is no signing key in the Control Plane with KID {int(kid)}")
        with self._lock:
            public = self._keys.get(pem)
        if public is None:
            try:
                public = serialization.load_pem_private_key(pem, password=None).public_key()
            except (ValueError, TypeError):
                raise InvalidToken("the signing key cannot be read") from None
            with self._lock:
                self._keys[pem] = public
        return public

    def validate(self, token: str) -> User:
        """The user *token* authenticates, with group ``mesh-system:authenticated`` added.

        Raises:
            InvalidToken: the token is malformed, not signed by a known key, expired, not yet valid or
                revoked.
        """
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("could not parse token") from None
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise InvalidToken("kid header not found")
        if header.get("alg") != _ALG:
            raise InvalidToken(f"unsupported token alg {header.get('alg')}. Allowed algorithm is {_ALG}")
        key = self._public_key(kid)
        options: Any = {"verify_iat": False, "verify_aud": False, "verify_iss": False, "require": []}
        try:
            claims = jwt.decode(token, key, algorithms=[_ALG], options=options, leeway=0)
        except jwt.ExpiredSignatureError:
            raise InvalidToken("token has expired") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("token is not valid yet") from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"could not parse token: {type(exc).__name__}") from None
        name, groups, jti = claims.get("Name", ""), claims.get("Groups") or [], claims.get("jti", "")
        if not isinstance(name, str) or not isinstance(jti, str):
            raise InvalidToken("malformed claims")
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise InvalidToken("malformed claims")
        revoked = self._secrets.read(REVOCATIONS)
        if revoked is not None and jti in revoked.decode("utf-8", "replace").rstrip("\n").split(","):
            raise InvalidToken("token is revoked")
        return User(name, (*groups, AUTHENTICATED))


def bootstrap_admin_token(store: Any, *, issuer: TokenIssuer | None = None) -> bool:
    """Store a 10-year admin token in GlobalSecret ``admin-user-token`` unless it exists.

    Exactly one instance's token is kept when several race. Returns whether this call created it.

    Raises:
        NoSigningKey: there is no signing key yet.
    """
    store = _store(store)
    try:
        store.get(GLOBAL_SECRET, "", ADMIN_TOKEN)
        return False
    except kv.NotFound:
        pass
    token = (issuer or TokenIssuer(store)).issue(
        "mesh-system:admin", ["mesh-system:admin"], ADMIN_TOKEN_VALIDITY
    )
    try:
        _put(store, ADMIN_TOKEN, token.encode("ascii"))
    except kv.AlreadyExists:
        return False
    return True
