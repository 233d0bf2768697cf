"""The security configuration: ``apiServer.authn`` and ``access``, with Kuma's names and defaults.

Lists (users, groups, CORS domains) are comma-separated strings, as Kuma reads them from the
environment (``KUMA_ACCESS_STATIC_ADMIN_RESOURCES_USERS=mesh-system:admin,alice``); each exposes the
parsed tuple. A YAML list is not accepted by the loader: write the comma list as a string.
"""

from __future__ import annotations

from attrs import frozen

from kuma_cp.loader import section, setting
from kuma_cp.security.identity import User

__all__ = [
    "AccessConfig",
    "AccessRule",
    "AuthnConfig",
    "StaticAccessConfig",
    "TokensConfig",
    "ValidatorConfig",
    "split_list",
]

_ADMIN = "mesh-system:admin"
_EVERYONE = "mesh-system:unauthenticated,mesh-system:authenticated"
_ENV = "KUMA_ACCESS_STATIC_"


def split_list(text: str) -> tuple[str, ...]:
    """Parse a comma list as Kuma's env loader does, ignoring blanks around and between items."""
    return tuple(item.strip() for item in text.split(",") if item.strip())


class AccessRule:
    """Who may do one thing: a user named in `users` or a member of a group in `groups`."""

    users: str
    groups: str

    @property
    def user_list(self) -> tuple[str, ...]:
        """The allowed user names."""
        return split_list(self.users)

    @property
    def group_list(self) -> tuple[str, ...]:
        """The allowed groups."""
        return split_list(self.groups)

    def allows(self, user: User) -> bool:
        """Kuma's static rule: the name is listed, or any of the user's groups is."""
        return user.name in self.user_list or any(g in self.group_list for g in user.groups)


@frozen
class AdminResourcesRule(AccessRule):
    """Reading and writing Secrets and GlobalSecrets (``adminResources``)."""

    users: str = setting("users", env=f"{_ENV}ADMIN_RESOURCES_USERS", default=_ADMIN)
    groups: str = setting("groups", env=f"{_ENV}ADMIN_RESOURCES_GROUPS", default=_ADMIN)


@frozen
class GenerateDpTokenRule(AccessRule):
    """Issuing dataplane tokens (``generateDpToken``)."""

    users: str = setting("users", env=f"{_ENV}GENERATE_DP_TOKEN_USERS", default=_ADMIN)
    groups: str = setting("groups", env=f"{_ENV}GENERATE_DP_TOKEN_GROUPS", default=_ADMIN)


@frozen
class GenerateUserTokenRule(AccessRule):
    """Issuing user tokens, ``POST /tokens/user`` (``generateUserToken``)."""

    users: str = setting("users", env=f"{_ENV}GENERATE_USER_TOKEN_USERS", default=_ADMIN)
    groups: str = setting("groups", env=f"{_ENV}GENERATE_USER_TOKEN_GROUPS", default=_ADMIN)


@frozen
class GenerateZoneTokenRule(AccessRule):
    """Issuing zone tokens (``generateZoneToken``)."""

    users: str = setting("users", env=f"{_ENV}GENERATE_ZONE_TOKEN_USERS", default=_ADMIN)
    groups: str = setting("groups", env=f"{_ENV}GENERATE_ZONE_TOKEN_GROUPS", default=_ADMIN)


@frozen
class ViewConfigDumpRule(AccessRule):
    """Envoy config dumps (``viewConfigDump``; Kuma's env names say ``GET_CONFIG_DUMP``)."""

    users: str = setting("users", env=f"{_ENV}GET_CONFIG_DUMP_USERS", default="")
    groups: str = setting("groups", env=f"{_ENV}GET_CONFIG_DUMP_GROUPS", default=_EVERYONE)


@frozen
class ViewStatsRule(AccessRule):
    """Envoy stats (``viewStats``)."""

    users: str = setting("users", env=f"{_ENV}VIEW_STATS_USERS", default="")
    groups: str = setting("groups", env=f"{_ENV}VIEW_STATS_GROUPS", default=_EVERYONE)


@frozen
class ViewClustersRule(AccessRule):
    """Envoy clusters (``viewClusters``)."""

    users: str = setting("users", env=f"{_ENV}VIEW_CLUSTERS_USERS", default="")
    groups: str = setting("groups", env=f"{_ENV}VIEW_CLUSTERS_GROUPS", default=_EVERYONE)


@frozen
class ControlPlaneMetadataRule(AccessRule):
    """Control-plane metadata (``controlPlaneMetadata``)."""

    users: str = setting("users", env=f"{_ENV}CONTROL_PLANE_METADATA_USERS", default="")
    groups: str = setting("groups", env=f"{_ENV}CONTROL_PLANE_METADATA_GROUPS", default=_EVERYONE)


@frozen
class StaticAccessConfig:
    """Kuma's static RBAC (``access.static``); defaults: admin-only tokens and secrets, Envoy data for all."""

    admin_resources: AdminResourcesRule = section("adminResources", AdminResourcesRule)
    generate_dp_token: GenerateDpTokenRule = section("generateDpToken", GenerateDpTokenRule)
    generate_user_token: GenerateUserTokenRule = section("generateUserToken", GenerateUserTokenRule)
    generate_zone_token: GenerateZoneTokenRule = section("generateZoneToken", GenerateZoneTokenRule)
    view_config_dump: ViewConfigDumpRule = section("viewConfigDump", ViewConfigDumpRule)
    view_stats: ViewStatsRule = section("viewStats", ViewStatsRule)
    view_clusters: ViewClustersRule = section("viewClusters", ViewClustersRule)
    control_plane_metadata: ControlPlaneMetadataRule = section(
        "controlPlaneMetadata", ControlPlaneMetadataRule
    )


@frozen
class AccessConfig:
    """Authorization (``access``)."""

    type: str = setting("type", env="KUMA_ACCESS_TYPE", default="static")
    """static, Kuma's only built-in kind."""
    static: StaticAccessConfig = section("static", StaticAccessConfig)


@frozen
class ValidatorConfig:
    """Where token verification keys come from (``apiServer.authn.tokens.validator``)."""

    use_secrets: bool = setting(
        "useSecrets", env="KUMA_API_SERVER_AUTHN_TOKENS_VALIDATOR_USE_SECRETS", default=True
    )
    """On, as Kuma: signing keys kept as GlobalSecrets verify tokens."""


@frozen
class TokensConfig:
    """User tokens (``apiServer.authn.tokens``)."""

    bootstrap_admin_token: bool = setting(
        "bootstrapAdminToken", env="KUMA_API_SERVER_AUTHN_TOKENS_BOOTSTRAP_ADMIN_TOKEN", default=True
    )
    """On, as Kuma: the leader stores an admin token in GlobalSecret ``admin-user-token``."""
    enable_issuer: bool = setting(
        "enableIssuer", env="KUMA_API_SERVER_AUTHN_TOKENS_ENABLE_ISSUER", default=True
    )
    """On, as Kuma: ``POST /tokens/user`` issues tokens."""
    validator: ValidatorConfig = section("validator", ValidatorConfig)


@frozen
class AuthnConfig:
    """Authentication of API callers (``apiServer.authn``)."""

    type: str = setting("type", env="KUMA_API_SERVER_AUTHN_TYPE", default="tokens")
    """tokens, as Kuma: ``Authorization: Bearer <user token>``."""
    localhost_is_admin: bool = setting(
        "localhostIsAdmin", env="KUMA_API_SERVER_AUTHN_LOCALHOST_IS_ADMIN", default=True
    )
    """On, as Kuma: direct loopback callers are admin (turn off once the admin token is extracted)."""
    tokens: TokensConfig = section("tokens", TokensConfig)
    anonymous_writes: bool = setting(
        "anonymousWrites", env="KUMA_API_SERVER_AUTHN_ANONYMOUS_WRITES", default=False
    )
    """Off, beyond Kuma: anonymous callers may read but not write; on restores Kuma's open writes."""
