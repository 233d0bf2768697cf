"""Kuma's API-server security: who a caller is (localhost admin, user token, anonymous) and what they may do.

- `identity`: users and Kuma's direct-loopback rule (``localhostIsAdmin``).
- `tokens`: RS256 user tokens signed with keys kept as GlobalSecrets, revocations, the admin token.
- `middleware`: the ASGI layer in front of the resource API (401/403/413, CORS, ``/tokens/user``,
  ``/who-am-i``); ``kuma_cp.security.middleware.secure_app`` wraps an app. It is not re-exported here:
  it imports the API (hence ``kuma_cp.config``), which imports this package's `config`.
- `config`: the ``apiServer.authn`` and ``access`` configuration sections.
"""

from __future__ import annotations

from kuma_cp.security.config import AccessConfig, AuthnConfig
from kuma_cp.security.identity import ADMIN, ANONYMOUS, User, is_local_admin
from kuma_cp.security.tokens import (
    InvalidToken,
    TokenIssuer,
    TokenValidator,
    bootstrap_admin_token,
    ensure_signing_key,
)

__all__ = [
    "ADMIN",
    "ANONYMOUS",
    "AccessConfig",
    "AuthnConfig",
    "InvalidToken",
    "TokenIssuer",
    "TokenValidator",
    "User",
    "bootstrap_admin_token",
    "ensure_signing_key",
    "is_local_admin",
]
