"""Single sign-on (`uiAuth: oidc`): per Web UI an oauth2-proxy, hardened, reachable from its UI proxy only and
reaching the provider only, and a UI proxy that asks it, per request, for the groups whose role may call the route."""

import base64

import pytest
from cryptography import x509

from tests.conftest import OIDC, StackRunner

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


@pytest.fixture(scope="module")
def signed_on():
    return StackRunner("dev").up(**OIDC)


def one(result, name: str):
    (match,) = [r for r in result.resources if r.name == name]
    return match


def conf(result, deployment: str = "etl") -> str:
    return one(result, f"{deployment}-ui-proxy-config").inputs["data"]["nginx.conf"]


def test_each_ui_gets_an_oauth2_proxy_and_no_htpasswd(signed_on):
    for deployment in ("etl", "adhoc"):
        assert one(signed_on, f"{deployment}-ui-sso").type == "secureflink:index:SingleSignOn"
        assert not [r for r in signed_on.resources if r.name == f"{deployment}-ui-proxy-htpasswd"]
    assert signed_on.outputs["uiUsers"] == []
    assert signed_on.outputs["uiGeneratedPasswords"] == {"etl": {}, "adhoc": {}}
    basic = StackRunner("dev").up(domain="flink.example.com")
    assert not [r for r in basic.resources if r.type == "secureflink:index:SingleSignOn"], "control: basic auth"


def test_oauth2_proxy_runs_the_rendered_arguments_for_the_uis_own_host(signed_on):
    (container,) = one(signed_on, "etl-ui-sso-deployment").inputs["spec"]["template"]["spec"]["containers"]
    arguments = container["args"]
    assert "--redirect-url=https://etl.flink.example.com/oauth2/callback" in arguments
    assert "--oidc-issuer-url=https://login.example.com/realms/flink" in arguments
    assert {a for a in arguments if a.startswith("--allowed-group=")} == {
        "--allowed-group=flink-admins",
        "--allowed-group=flink-operators",
        "--allowed-group=flink-viewers",
    }
    assert not [a for a in arguments if OIDC["oidcClientSecret"] in a]
    assert container["image"] == "quay.io/oauth2-proxy/oauth2-proxy:v7.15.6"


def test_the_client_and_cookie_secrets_are_a_secret_secrets_files(signed_on):
    secrets = one(signed_on, "etl-ui-sso-secrets")
    assert "data" in secrets.secret_inputs
    data = {key: base64.b64decode(value).decode() for key, value in secrets.inputs["data"].items()}
    assert data["client-secret"] == OIDC["oidcClientSecret"]
    assert len(data["cookie-secret"]) == 32 and data["cookie-secret"].isalnum()
    assert data["cookie-secret"] != conf(signed_on)


def test_the_oauth2_proxy_pod_is_hardened_and_probed_over_https(signed_on):
    spec = one(signed_on, "etl-ui-sso-deployment").inputs["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert spec["automountServiceAccountToken"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["readinessProbe"]["httpGet"] == {"path": "/ping", "port": "https", "scheme": "HTTPS"}


def test_the_ui_proxy_verifies_oauth2_proxy_by_the_stack_ca(signed_on):
    text = conf(signed_on)
    assert "upstream oauth2_proxy {\n        server etl-sso.flink.svc:4443;" in text
    assert "proxy_ssl_name etl-sso.flink.svc;" in text
    files = one(signed_on, "etl-ui-proxy-config").inputs["data"]
    assert files["sso-ca.crt"] == signed_on.outputs["caCertificate"]
    tls = one(signed_on, "etl-ui-sso-tls")
    leaf = x509.load_pem_x509_certificate(base64.b64decode(tls.inputs["data"]["tls.crt"]))
    assert "etl-sso.flink.svc" in leaf.extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    ).value.get_values_for_type(x509.DNSName)
    leaf.verify_directly_issued_by(x509.load_pem_x509_certificate(signed_on.outputs["caCertificate"].encode()))


def test_each_route_asks_for_the_groups_whose_role_may_call_it(signed_on):
    text = conf(signed_on)
    assert 'viewer "flink-admins,flink-operators,flink-viewers";' in text
    assert 'operator "flink-admins,flink-operators";' in text
    assert 'admin "flink-admins";' in text
    assert "auth_request /_secure_flink_sso_gate;" in text and "auth_basic" not in text
    assert 'proxy_set_header Cookie "";' in text, "the session cookie does not reach Flink"


def test_oauth2_proxy_reaches_only_the_provider_and_only_its_ui_proxy_reaches_it(signed_on):
    policy = one(signed_on, "etl-ui-sso-network-policy").inputs["spec"]
    assert policy["egress"] == [
        {"to": [{"ipBlock": {"cidr": "203.0.113.10/32"}}], "ports": [{"protocol": "TCP", "port": 443}]}
    ]
    (rule,) = policy["ingress"]
    assert rule["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "ui-proxy"
    assert rule["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/instance"] == "etl"
    proxy = one(signed_on, "etl-ui-proxy-network-policy").inputs["spec"]
    assert {
        "to": [
            {
                "podSelector": {
                    "matchLabels": one(signed_on, "etl-ui-sso-deployment").inputs["spec"]["template"]["metadata"][
                        "labels"
                    ]
                }
            }
        ],
        "ports": [{"protocol": "TCP", "port": 4443}],
    } in proxy["egress"]


def test_the_callback_has_an_ingress_of_its_own_without_the_controllers_access_log(signed_on):
    """Its URL carries the authorization code and state; the controller's default log line keeps the query."""
    ui, callback = one(signed_on, "etl-ui-proxy-ingress"), one(signed_on, "etl-ui-proxy-callback-ingress")
    (path,) = callback.inputs["spec"]["rules"][0]["http"]["paths"]
    assert path["path"] == "/oauth2/callback" and path["pathType"] == "Exact"
    assert path["backend"] == ui.inputs["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    access_log = "nginx.ingress.kubernetes.io/enable-access-log"
    assert callback.inputs["metadata"]["annotations"] == {**ui.inputs["metadata"]["annotations"], access_log: "false"}
    assert access_log not in ui.inputs["metadata"]["annotations"], "the UI's own requests stay logged"
    basic = StackRunner("dev").up(domain="flink.example.com")
    assert not [r for r in basic.resources if r.name.endswith("-callback-ingress")], "control: basic auth"


def gate(text: str) -> str:
    return text.split("location = /_secure_flink_sso_gate {", 1)[1].split("}", 1)[0]


def test_the_ui_proxy_keeps_oauth2_proxys_yes_for_a_session_signature_and_the_routes_groups(signed_on):
    text = conf(signed_on)
    assert "proxy_cache_path /tmp/sso-sessions levels=1 keys_zone=sso_sessions:1m max_size=8m" in text
    assert "map $http_cookie $sso_session_signature {" in text and "__Host\\-flink\\-sso=[^;|]*" in text
    lines = gate(text)
    assert 'proxy_cache_key "$sso_allowed_groups $sso_session_signature";' in lines
    assert "proxy_cache_valid 202 5s;" in lines and "proxy_cache_valid 401" not in lines
    assert "proxy_no_cache $sso_session_unsigned;" in lines and "proxy_cache_bypass $sso_session_unsigned;" in lines
    assert "proxy_ignore_headers" not in text, "a response that renews the session (Set-Cookie) is never kept"
    basic = StackRunner("dev").up(domain="flink.example.com")
    assert "proxy_cache" not in conf(basic), "control: basic auth keeps nothing"


def test_the_session_cache_is_a_memory_volume_of_the_signed_on_ui_proxy_only(signed_on):
    spec = one(signed_on, "etl-ui-proxy-deployment").inputs["spec"]["template"]["spec"]
    assert {"name": "sessions", "emptyDir": {"medium": "Memory", "sizeLimit": "32Mi"}} in spec["volumes"]
    (container,) = spec["containers"]
    assert {"name": "sessions", "mountPath": "/tmp/sso-sessions"} in container["volumeMounts"]
    basic = StackRunner("dev").up(domain="flink.example.com")
    volumes = one(basic, "etl-ui-proxy-deployment").inputs["spec"]["template"]["spec"]["volumes"]
    assert [v["name"] for v in volumes if v["name"] == "sessions"] == [], "control: basic auth"
