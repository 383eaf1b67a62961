"""oauth2-proxy's command line: secrets only as files, the session cookie hardened and scoped to the UI's prefix, the
login restricted to the groups that have a role, nothing insecure, the callback's code kept out of the logs."""

from dataclasses import fields, replace

import pytest

from secure_flink.domain.oauth2_proxy import (
    COOKIE_EXPIRE,
    COOKIE_REFRESH,
    DEFAULT_SCOPES,
    OAuth2ProxySite,
    OidcLogin,
    oauth2_proxy_args,
)
from secure_flink.domain.problems import ConfigError

LOGIN = OidcLogin(
    issuer_url="https://idp.example.com/dex",
    client_id="flink-ui",
    allowed_groups=("flink-viewers", "flink-operators", "flink-admins"),
)
SITE = OAuth2ProxySite(
    ui_url="https://flink.example.com/etl/",
    https_address="0.0.0.0:4443",
    tls_cert_file="/etc/oauth2-proxy/tls/tls.crt",
    tls_key_file="/etc/oauth2-proxy/tls/tls.key",
    client_secret_file="/etc/oauth2-proxy/client/client-secret",
    cookie_secret_file="/etc/oauth2-proxy/cookie/cookie-secret",
)
ROOT_SITE = replace(SITE, ui_url="https://flink.example.com/")


def flags(args: tuple[str, ...]) -> dict[str, list[str]]:
    """`--name=value` arguments as name -> every value given, in order."""
    found: dict[str, list[str]] = {}
    for arg in args:
        name, _, value = arg.partition("=")
        found.setdefault(name, []).append(value)
    return found


def only(args: tuple[str, ...], name: str) -> str:
    values = flags(args)[name]
    assert len(values) == 1, f"{name} given {len(values)} times"
    return values[0]


def test_every_argument_is_one_flag_with_its_value():
    args = oauth2_proxy_args(LOGIN, SITE)

    assert all(arg.startswith("--") and "=" in arg for arg in args)
    assert len(args) == len(set(args))


def test_secrets_are_named_by_file_never_given():
    args = flags(oauth2_proxy_args(LOGIN, SITE))

    assert args["--client-secret-file"] == [SITE.client_secret_file]
    assert args["--cookie-secret-file"] == [SITE.cookie_secret_file]
    assert not {"--client-secret", "--cookie-secret", "--redis-password", "--jwt-key", "--signature-key"} & args.keys()


def test_no_argument_holds_a_secret_value_because_the_builder_never_receives_one():
    inputs = {f.name for f in fields(OidcLogin)} | {f.name for f in fields(OAuth2ProxySite)}

    assert {name for name in inputs if "secret" in name or "password" in name or "key" in name} == {
        "client_secret_file",
        "cookie_secret_file",
        "tls_key_file",
    }


def test_the_session_cookie_is_secure_httponly_lax_and_lives_a_shift():
    args = oauth2_proxy_args(LOGIN, SITE)

    assert only(args, "--cookie-secure") == "true"
    assert only(args, "--cookie-httponly") == "true"
    assert only(args, "--cookie-samesite") == "lax"
    assert only(args, "--cookie-expire") == COOKIE_EXPIRE == "8h"
    assert only(args, "--cookie-refresh") == COOKIE_REFRESH == "1h"


def test_under_a_prefix_every_endpoint_and_the_cookie_move_under_it():
    args = oauth2_proxy_args(LOGIN, SITE)

    assert only(args, "--proxy-prefix") == "/etl/oauth2"
    assert only(args, "--redirect-url") == "https://flink.example.com/etl/oauth2/callback"
    assert only(args, "--cookie-path") == "/etl"
    assert only(args, "--cookie-name") == "__Secure-flink-sso-etl"
    assert (SITE.auth_path, SITE.start_path, SITE.sign_out_path) == (
        "/etl/oauth2/auth",
        "/etl/oauth2/start",
        "/etl/oauth2/sign_out",
    )


def test_at_the_root_the_cookie_is_a_host_cookie():
    args = oauth2_proxy_args(LOGIN, ROOT_SITE)

    assert only(args, "--proxy-prefix") == "/oauth2"
    assert only(args, "--redirect-url") == "https://flink.example.com/oauth2/callback"
    assert only(args, "--cookie-path") == "/"
    assert only(args, "--cookie-name") == "__Host-flink-sso"


def test_two_prefixes_on_one_host_have_cookies_of_their_own():
    other = replace(SITE, ui_url="https://flink.example.com/adhoc/")

    names = {s.cookie_name for s in (SITE, other, ROOT_SITE)}

    assert len(names) == 3


def test_the_callback_is_not_request_logged_because_its_url_carries_the_code():
    args = oauth2_proxy_args(LOGIN, SITE)

    assert only(args, "--exclude-logging-path") == "/etl/oauth2/callback"


def test_the_login_asks_the_issuer_with_pkce_for_the_default_scopes():
    args = oauth2_proxy_args(LOGIN, SITE)

    assert only(args, "--provider") == "oidc"
    assert only(args, "--oidc-issuer-url") == "https://idp.example.com/dex"
    assert only(args, "--client-id") == "flink-ui"
    assert only(args, "--code-challenge-method") == "S256"
    assert only(args, "--scope") == "openid email profile groups" == " ".join(DEFAULT_SCOPES)
    assert only(args, "--oidc-groups-claim") == "groups"
    assert only(args, "--approval-prompt") == "auto"
    assert only(args, "--skip-provider-button") == "true"


def test_only_the_groups_that_have_a_role_get_in_in_a_stable_order():
    shuffled = replace(LOGIN, allowed_groups=("flink-admins", "flink-viewers", "flink-operators", "flink-viewers"))

    groups = flags(oauth2_proxy_args(shuffled, SITE))["--allowed-group"]

    assert groups == ["flink-admins", "flink-operators", "flink-viewers"]
    assert oauth2_proxy_args(shuffled, SITE) == oauth2_proxy_args(LOGIN, SITE)


def test_without_email_domains_any_domain_passes_the_email_check():
    assert flags(oauth2_proxy_args(LOGIN, SITE))["--email-domain"] == ["*"]


def test_email_domains_restrict_and_are_lowercased():
    login = replace(LOGIN, email_domains=("Example.COM", ".corp.example.com"))

    assert flags(oauth2_proxy_args(login, SITE))["--email-domain"] == [".corp.example.com", "example.com"]


def test_a_private_idp_ca_is_the_only_trust_for_the_provider():
    with_ca = replace(LOGIN, provider_ca_file="/etc/oauth2-proxy/idp-ca/ca.crt")

    assert only(oauth2_proxy_args(with_ca, SITE), "--provider-ca-file") == "/etc/oauth2-proxy/idp-ca/ca.crt"
    assert "--provider-ca-file" not in flags(oauth2_proxy_args(LOGIN, SITE))
    assert "--use-system-trust-store" not in flags(oauth2_proxy_args(with_ca, SITE))


def test_it_serves_only_https_and_answers_nginx_as_an_auth_request_endpoint():
    args = oauth2_proxy_args(LOGIN, SITE)

    assert only(args, "--https-address") == "0.0.0.0:4443"
    assert only(args, "--tls-cert-file") == SITE.tls_cert_file
    assert only(args, "--tls-key-file") == SITE.tls_key_file
    assert only(args, "--tls-min-version") == "TLS1.2"
    assert "--http-address" not in flags(args)
    assert only(args, "--reverse-proxy") == "true"
    assert only(args, "--set-xauthrequest") == "true"
    assert only(args, "--upstream") == "static://202"


def test_trusted_proxies_limit_who_may_set_forwarded_headers():
    site = replace(SITE, trusted_proxies=("10.128.0.0/14", "127.0.0.1"))

    assert flags(oauth2_proxy_args(LOGIN, site))["--trusted-proxy-ip"] == ["10.128.0.0/14", "127.0.0.1"]
    assert "--trusted-proxy-ip" not in flags(oauth2_proxy_args(LOGIN, SITE))


def test_nothing_insecure_or_token_revealing_is_switched_on():
    names = flags(oauth2_proxy_args(replace(LOGIN, provider_ca_file="/ca.crt"), SITE)).keys()

    assert not [n for n in names if "insecure" in n or "skip-verify" in n]
    assert (
        not {
            "--show-debug-on-error",
            "--pass-access-token",
            "--set-authorization-header",
            "--pass-authorization-header",
            "--skip-jwt-bearer-tokens",
            "--request-logging-format",
            "--auth-logging-format",
            "--ssl-insecure-skip-verify",
            "--session-cookie-minimal",
        }
        & names
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("issuer_url", "http://idp.example.com/dex"),
        ("issuer_url", "https:///dex"),
        ("issuer_url", "https://idp.example.com/dex?x=1"),
        ("issuer_url", "https://user@idp.example.com/dex"),
        ("client_id", ""),
        ("client_id", "flink ui"),
        ("allowed_groups", ("cn=admins,dc=example",)),
        ("allowed_groups", ('"quoted"',)),
        ("allowed_groups", (" padded",)),
        ("allowed_groups", ("",)),
        ("allowed_groups", ["flink-viewers"]),
        ("email_domains", ("*",)),
        ("email_domains", ("@example.com",)),
        ("email_domains", ("example.com/x",)),
        ("groups_claim", ""),
        ("scopes", ("email", "groups")),
        ("scopes", ("openid", "openid")),
        ("scopes", ("openid email",)),
        ("provider_ca_file", "ca.crt"),
    ],
)
def test_a_login_that_cannot_work_is_refused_naming_the_field(field, value):
    with pytest.raises(ConfigError) as refused:
        replace(LOGIN, **{field: value})

    assert [p.key for p in refused.value.problems] == [field]
    assert f"OidcLogin.{field}" in str(refused.value)


def test_a_login_open_to_every_account_is_refused():
    with pytest.raises(ConfigError, match="every account"):
        replace(LOGIN, allowed_groups=())


def test_a_login_restricted_by_email_domain_alone_is_accepted():
    login = replace(LOGIN, allowed_groups=(), email_domains=("example.com",))

    assert "--allowed-group" not in flags(oauth2_proxy_args(login, SITE))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ui_url", "http://flink.example.com/etl/"),
        ("ui_url", "https://flink.example.com/etl"),
        ("ui_url", "https://flink.example.com"),
        ("ui_url", "https://flink.example.com/a/b/"),
        ("ui_url", "https://flink.example.com/Etl/"),
        ("ui_url", "https://flink.example.com/etl/?x=1"),
        ("https_address", "4443"),
        ("https_address", "0.0.0.0:70000"),
        ("https_address", ":4443"),
        ("tls_cert_file", "tls.crt"),
        ("tls_key_file", ""),
        ("client_secret_file", "/etc/with space"),
        ("cookie_secret_file", "cookie-secret"),
        ("trusted_proxies", ("10.0.0.1/8",)),
        ("trusted_proxies", ("nginx",)),
    ],
)
def test_a_site_that_cannot_work_is_refused_naming_the_field(field, value):
    with pytest.raises(ConfigError) as refused:
        replace(SITE, **{field: value})

    assert [p.key for p in refused.value.problems] == [field]


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as refused:
        OidcLogin(issuer_url="http://idp", client_id="", scopes=("email",))

    assert [p.key for p in refused.value.problems] == ["issuer_url", "client_id", "allowed_groups", "scopes"]
