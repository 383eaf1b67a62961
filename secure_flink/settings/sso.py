"""`uiAuth` and the `oidc*` keys: whether Web UI users sign in with basic auth or through an OIDC identity provider
(oauth2-proxy), and with which provider, client and group roles."""

from collections.abc import Mapping
from typing import Any

from cryptography import x509

from secure_flink.domain.oauth2_proxy import DEFAULT_SCOPES, OidcLogin
from secure_flink.domain.problems import ConfigError
from secure_flink.domain.roles import Role
from secure_flink.domain.sso_workload import IMAGE
from secure_flink.settings.model import OidcSettings, UiAuth
from secure_flink.settings.network import read_egress
from secure_flink.settings.reader import Reader, read_image, read_list, set_hint

SECRET_CLIENT_SECRET_MARK = "oidcClientSecret (secret)"
GROUP_ROLE_FIELDS = frozenset({"group", "role"})
# OidcLogin's fields, as the stack config names them.
LOGIN_KEYS = {
    "issuer_url": "oidcIssuerUrl",
    "client_id": "oidcClientId",
    "allowed_groups": "oidcGroupRoles",
    "email_domains": "oidcEmailDomains",
    "groups_claim": "oidcGroupsClaim",
    "scopes": "oidcScopes",
}
FIXES = {
    "oidcIssuerUrl": "pulumi config set oidcIssuerUrl https://login.example.com/realms/flink",
    "oidcClientId": "pulumi config set oidcClientId flink-ui",
    "oidcGroupRoles": set_hint("oidcGroupRoles[0].group", "flink-admins"),
    "oidcEmailDomains": set_hint("oidcEmailDomains[0]", "example.com"),
    "oidcGroupsClaim": "pulumi config set oidcGroupsClaim groups",
    "oidcScopes": " and ".join(set_hint(f"oidcScopes[{i}]", scope) for i, scope in enumerate(DEFAULT_SCOPES)),
}


def read_ui_auth(reader: Reader, raw: Mapping[str, Any], domain: str | None) -> tuple[UiAuth, OidcSettings | None]:
    """`uiAuth`, and with `oidc` the provider's settings (every `oidc*` key checked, each problem reported)."""
    auth = reader.enum("uiAuth", raw["uiAuth"], UiAuth, "pulumi config set uiAuth basic") or UiAuth.BASIC
    if auth is not UiAuth.OIDC:
        return auth, None
    before = len(reader.problems)
    if domain is None:
        reader.fail(
            "domain",
            raw["domain"],
            "is required with uiAuth oidc: the identity provider sends browsers back to the UI's own host "
            "(https://<deployment>.<domain>/oauth2/callback), which the client registration names",
            "pulumi config set domain flink.example.com",
        )
    secret = _client_secret(reader, raw)
    group_roles = _group_roles(reader, raw["oidcGroupRoles"])
    domains = _strings(reader, "oidcEmailDomains", raw["oidcEmailDomains"], "example.com")
    scopes = _strings(reader, "oidcScopes", raw["oidcScopes"], "openid")
    ca = _provider_ca(reader, raw["oidcCaCertificate"])
    listed = _json(reader, "oidcEgress", raw["oidcEgress"])
    egress = None if listed is None else read_egress(reader, "oidcEgress", listed)
    if egress == ():
        reader.fail(
            "oidcEgress",
            [],
            "must name where the identity provider is: oauth2-proxy may connect nowhere else, and must reach it",
            f"{set_hint('oidcEgress[0].cidr', '203.0.113.10/32')} and {set_hint('oidcEgress[0].ports[0]', '443')}",
        )
    image = read_image(reader, "oauth2ProxyImage", raw["oauth2ProxyImage"], IMAGE)
    # Checked even when other keys have problems, so that one run reports them all.
    if group_roles is None or domains is None or scopes is None:
        return auth, None
    login = _login(reader, raw, group_roles, domains, scopes)
    if len(reader.problems) > before or login is None or secret is None or egress is None or image is None:
        return auth, None
    return auth, OidcSettings(
        login=login, client_secret=secret, group_roles=group_roles, provider_ca=ca, egress=egress, image=image
    )


def _json(reader: Reader, key: str, text: str | None) -> object:
    return read_list(reader, key, text, reason="must be a list", fix=f"set {key} as a YAML list in Pulumi.<stack>.yaml")


def _client_secret(reader: Reader, raw: Mapping[str, Any]) -> str | None:
    value = raw["oidcClientSecret"]
    fix = "pulumi config set --secret oidcClientSecret <the client's secret at the identity provider>"
    if not value:
        reader.fail("oidcClientSecret", "", "is required with uiAuth oidc", fix)
        return None
    if not raw[SECRET_CLIENT_SECRET_MARK]:
        reader.fail(
            "oidcClientSecret", "[not secret]", "must be set as a secret: it is in plain text in the stack", fix
        )
        return None
    if any(character.isspace() for character in value):
        reader.fail("oidcClientSecret", "[secret]", "must not contain white space (a pasted newline?)", fix)
        return None
    return str(value)


def _group_roles(reader: Reader, text: str | None) -> tuple[tuple[str, Role], ...] | None:
    example = (
        set_hint("oidcGroupRoles[0].group", "flink-admins") + " and " + set_hint("oidcGroupRoles[0].role", "admin")
    )
    items = read_list(
        reader, "oidcGroupRoles", text, reason="must list at least one {group, role}", fix=example, non_empty=True
    )
    if items is None:
        return None
    before, pairs = len(reader.problems), list[tuple[str, Role]]()
    for i, item in enumerate(items):
        key = f"oidcGroupRoles[{i}]"
        if not isinstance(item, dict):
            reader.fail(key, item, "must be a map with group and role", example)
            continue
        reader.unknown_fields(key, item, GROUP_ROLE_FIELDS)
        group = item.get("group")
        role = reader.enum(f"{key}.role", item.get("role"), Role, set_hint(f"{key}.role", "viewer"))
        if not isinstance(group, str) or not group:
            reader.fail(
                f"{key}.group", group, "must be the group's name as the provider's groups claim says it", example
            )
        elif any(group == listed for listed, _ in pairs):
            reader.fail(
                f"{key}.group", group, "is listed twice: a group has one role", f"pulumi config rm --path '{key}'"
            )
        elif role is not None:
            pairs.append((group, role))
    return tuple(pairs) if len(reader.problems) == before else None


def _strings(reader: Reader, key: str, text: str | None, example: str) -> tuple[str, ...] | None:
    items = read_list(reader, key, text, reason="must be a list of strings", fix=set_hint(f"{key}[0]", example))
    if items is None:
        return None
    if not all(isinstance(item, str) for item in items):
        reader.fail(key, items, "must be a list of strings", set_hint(f"{key}[0]", example))
        return None
    return tuple(items)


def _provider_ca(reader: Reader, value: object) -> str | None:
    if not value:
        return None
    fix = 'pulumi config set oidcCaCertificate -- "$(cat idp-ca.crt)" (or unset it for a publicly trusted provider)'
    try:
        x509.load_pem_x509_certificates(str(value).encode())
    except ValueError:
        reader.fail("oidcCaCertificate", "[PEM]", "must be one or more PEM certificates", fix)
        return None
    return str(value)


def _login(
    reader: Reader,
    raw: Mapping[str, Any],
    group_roles: tuple[tuple[str, Role], ...],
    domains: tuple[str, ...],
    scopes: tuple[str, ...],
) -> OidcLogin | None:
    """The login as oauth2-proxy will run it, checked by its own rules, each problem named by its config key."""
    try:
        return OidcLogin(
            issuer_url=raw["oidcIssuerUrl"],
            client_id=raw["oidcClientId"],
            allowed_groups=tuple(group for group, _ in group_roles),
            email_domains=domains,
            groups_claim=raw["oidcGroupsClaim"],
            scopes=scopes,
        )
    except ConfigError as error:
        for problem in error.problems:
            key = LOGIN_KEYS.get(problem.key.rsplit(".", 1)[-1], problem.key)
            reader.fail(key, problem.value, problem.reason, FIXES.get(key, problem.fix))
        return None
