"""The `ui*` keys of the stack config (users, hashing, Route termination of the Web UI proxy) and what every proxy
of the stack shares: `domain`, `ingressClass`, `proxyMaxBodySize`, `proxyImage`."""

from collections.abc import Mapping
from typing import Any

from secure_flink.domain import names
from secure_flink.domain.exposure import Termination
from secure_flink.domain.htpasswd import HashScheme, free_username, is_username, password_problems, username_problem
from secure_flink.domain.nginx import body_size_problem
from secure_flink.domain.roles import DEFAULT_ROLE
from secure_flink.settings.defaults import DEFAULTS
from secure_flink.settings.model import DeploymentSettings, Platform, UiAuth, UiSettings, UiUser
from secure_flink.settings.reader import Reader, read_image, read_list, set_hint
from secure_flink.settings.roles import read_role
from secure_flink.settings.sso import read_ui_auth

SECRET_USERS_MARK = "uiUsers (secret)"


USER_FIELDS = frozenset({"name", "role", "password"})


PROXY_IMAGE = str(DEFAULTS["proxyImage"])
"""What a proxyImage fix suggests: the proxies run nginx."""


def read_ui(
    reader: Reader,
    raw: Mapping[str, Any],
    platform: Platform | None,
    deployments: tuple[DeploymentSettings, ...] | None,
) -> UiSettings | None:
    before = len(reader.problems)
    enabled = raw["uiEnabled"]
    if enabled not in ("true", "false"):
        reader.fail("uiEnabled", enabled, "must be true or false", "pulumi config set uiEnabled true")
    users = _ui_users(reader, raw["uiUsers"], bool(raw[SECRET_USERS_MARK]))
    scheme = reader.enum("uiHashScheme", raw["uiHashScheme"], HashScheme, "pulumi config set uiHashScheme ssha")
    termination_fix = _termination_fix(raw, platform)
    termination = reader.enum("uiRouteTermination", raw["uiRouteTermination"], Termination, termination_fix)
    domain = _ui_domain(reader, raw["domain"] or None, deployments or ())
    if platform is Platform.OPENSHIFT and termination is Termination.PASSTHROUGH and domain is None:
        reader.fail(
            "domain",
            raw["domain"],
            "is required with a passthrough Route: the proxy serves the "
            "certificate itself, so it must know the host the router sends",
            "pulumi config set domain apps.mycluster.example.com (or uiRouteTermination reencrypt)",
        )
    ingress_class = raw["ingressClass"]
    if not isinstance(ingress_class, str) or not names.is_dns1123_label(ingress_class):
        reader.fail(
            "ingressClass", ingress_class, "must be an IngressClass name", "pulumi config set ingressClass nginx"
        )
    body = raw["proxyMaxBodySize"]
    body_problem = body_size_problem(body)
    if body_problem is not None:
        reader.fail("proxyMaxBodySize", body, body_problem, "pulumi config set proxyMaxBodySize 256m")
    image = read_image(reader, "proxyImage", raw["proxyImage"], PROXY_IMAGE)
    auth, oidc = read_ui_auth(reader, raw, domain) if enabled == "true" else (UiAuth.BASIC, None)
    if len(reader.problems) > before or users is None or scheme is None or termination is None or image is None:
        return None
    return UiSettings(
        enabled=enabled == "true",
        users=users,
        hash_scheme=scheme,
        domain=domain,
        route_termination=termination,
        ingress_class=ingress_class,
        max_body_size=body,
        proxy_image=image,
        auth=auth,
        oidc=oidc,
    )


def _termination_fix(raw: Mapping[str, Any], platform: Platform | None) -> str:
    """Passthrough, unless that needs a domain the config lacks (an OpenShift passthrough Route)."""
    if platform is Platform.OPENSHIFT and not raw["domain"]:
        return "pulumi config set uiRouteTermination reencrypt (passthrough needs a domain)"
    return "pulumi config set uiRouteTermination passthrough"


def _ui_users(reader: Reader, text: str | None, secret: bool) -> tuple[UiUser, ...] | None:
    items = read_list(
        reader,
        "uiUsers",
        text,
        reason="must be a non-empty list of users",
        fix=set_hint("uiUsers[0].name", "admin"),
        non_empty=True,
    )
    if items is None:
        return None
    users, seen = [], set()
    listed = [item.get("name") if isinstance(item, dict) else None for item in items]
    fixed = names.unique_names(listed, valid=is_username, free=free_username)
    for i, item in enumerate(items):
        key = f"uiUsers[{i}]"
        if not isinstance(item, dict):
            reader.fail(key, item, "must be a map with name (and password)", set_hint(f"{key}.name", fixed[i]))
            continue
        reader.unknown_fields(key, item, USER_FIELDS)
        name, password = item.get("name"), item.get("password")
        problem = username_problem(name) if isinstance(name, str) else "must be a string"
        if problem:
            reader.fail(f"{key}.name", name, problem, set_hint(f"{key}.name", fixed[i]))
        elif name in seen:
            reader.fail(f"{key}.name", name, "is listed twice", set_hint(f"{key}.name", fixed[i]))
        seen.add(name)
        role = read_role(
            reader, key, name, item.get("role"), before="every user could do everything", suggested=DEFAULT_ROLE
        )
        users.append(UiUser(name=str(name), role=role, password=_user_password(reader, key, name, password, secret)))
    return tuple(users)


def _user_password(reader: Reader, key: str, name: object, password: object, secret: bool) -> str | None:
    if password is None:
        return None
    fix = f"pulumi config set --secret --path '{key}.password' <password>  (or remove it: the stack generates one)"
    if not secret:
        # The value is in plain text in Pulumi.<stack>.yaml: never echo it.
        reader.fail(f"{key}.password", "[not shown]", "is not encrypted", fix)
        return None
    if not isinstance(password, str):
        reader.fail(f"{key}.password", "[secret]", "must be a string", fix)
        return None
    problems = password_problems(str(name), password)
    if problems:
        reader.fail(f"{key}.password", "[secret]", "is too weak: " + "; ".join(problems), fix)
        return None
    return password


def _ui_domain(reader: Reader, domain: str | None, deployments: tuple[DeploymentSettings, ...]) -> str | None:
    if domain is None:
        return None
    # The longest host is a REST API host, `<deployment>-api.<domain>`.
    longest = max((len(names.rest_api_host(d.name, domain)) for d in deployments), default=0)
    if names.host_problem(domain) is not None or longest > 253:
        reader.fail(
            "domain",
            domain,
            "must be a DNS domain without scheme, port or path (UI hosts are <deployment>.<domain>)",
            "pulumi config set domain flink.apps.example.com",
        )
        return None
    return domain
