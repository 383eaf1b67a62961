"""SecureFlinkUI in the resource graph: what it creates on each platform, how it is hardened, what it keeps secret."""

import base64

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from passlib.context import CryptContext

from offline.engine import RunResult
from secure_flink.domain import names
from tests.conftest import StackRunner

SECRET = "kubernetes:core/v1:Secret"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
ROUTE = "kubernetes:route.openshift.io/v1:Route"
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
STRONG = "Vq7-correct-Horse-battery-2026"


def one(result: RunResult, name: str, type_: str | None = None):
    (match,) = [r for r in result.resources if r.name == name and r.custom and (type_ is None or r.type == type_)]
    return match


def children(result: RunResult, component: str) -> dict[str, str]:
    (parent,) = [r for r in result.resources if r.name == component and not r.custom]
    return {r.name: r.type for r in result.resources if r.parent == parent.urn}


def test_each_deployment_gets_a_proxy_with_its_own_children(dev):
    assert children(dev, "etl-ui") == {
        "etl-ui-password-admin": "random:index/randomPassword:RandomPassword",
        "etl-ui-salt-admin": "random:index/randomString:RandomString",
        "etl-ui-proxy": "secureflink:index:FlinkRestProxy",
    }
    assert children(dev, "etl-ui-proxy") == {
        "etl-ui-proxy-tls-key": "tls:index/privateKey:PrivateKey",
        "etl-ui-proxy-tls-csr": "tls:index/certRequest:CertRequest",
        "etl-ui-proxy-tls-cert": "tls:index/locallySignedCert:LocallySignedCert",
        "etl-ui-proxy-tls": SECRET,
        "etl-ui-proxy-htpasswd": SECRET,
        "etl-ui-proxy-upstream-identity": SECRET,
        "etl-ui-proxy-ingress-client-key": "tls:index/privateKey:PrivateKey",
        "etl-ui-proxy-ingress-client-csr": "tls:index/certRequest:CertRequest",
        "etl-ui-proxy-ingress-client-cert": "tls:index/locallySignedCert:LocallySignedCert",
        "etl-ui-proxy-ingress-identity": SECRET,
        "etl-ui-proxy-config": "kubernetes:core/v1:ConfigMap",
        "etl-ui-proxy-deployment": DEPLOYMENT,
        "etl-ui-proxy-service": "kubernetes:core/v1:Service",
        "etl-ui-proxy-ingress": INGRESS,
        "etl-ui-proxy-network-policy": "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    }
    assert "adhoc-ui" in {r.name for r in dev.resources if not r.custom}


def test_openshift_exposes_the_proxy_with_a_passthrough_route(ocp):
    assert not ocp.by_type(INGRESS)
    route = one(ocp, "etl-ui-proxy-route", ROUTE)
    spec = route.inputs["spec"]
    assert spec["tls"] == {"termination": "passthrough", "insecureEdgeTerminationPolicy": "Redirect"}
    assert spec["host"] == "etl.flink.apps.ocp.example.com"
    assert spec["to"] == {"kind": "Service", "name": "etl-ui", "weight": 100}
    assert ocp.outputs["uiUrls"]["etl"] == "https://etl.flink.apps.ocp.example.com/"


def test_reencrypt_route_verifies_the_proxy_with_the_stack_ca():
    result = StackRunner("ocp").up(uiRouteTermination="reencrypt", domain="")
    spec = one(result, "etl-ui-proxy-route", ROUTE).inputs["spec"]
    assert spec["tls"]["termination"] == "reencrypt"
    assert spec["tls"]["destinationCACertificate"] == result.outputs["caCertificate"]
    assert "host" not in spec, "OpenShift assigns the host"


def proxy_certificate(result: RunResult, component: str) -> x509.Certificate:
    data = one(result, f"{component}-proxy-tls", SECRET).inputs["data"]
    return x509.load_pem_x509_certificate(base64.b64decode(data["tls.crt"]))


def test_ingress_without_host_serves_each_ui_under_its_own_path(dev):
    spec = one(dev, "etl-ui-proxy-ingress", INGRESS).inputs["spec"]
    assert spec["ingressClassName"] == "nginx"
    (rule,) = spec["rules"]
    assert "host" not in rule and rule["http"]["paths"][0]["path"] == "/etl/"
    assert dev.outputs["uiUrls"]["etl"].endswith("/etl/")


def test_ingress_verifies_the_proxy_presents_its_own_certificate_and_forces_https(dev):
    ingress = one(dev, "etl-ui-proxy-ingress", INGRESS)
    annotations = ingress.inputs["metadata"]["annotations"]
    identity = one(dev, "etl-ui-proxy-ingress-identity", SECRET)
    assert annotations["nginx.ingress.kubernetes.io/backend-protocol"] == "HTTPS"
    assert annotations["nginx.ingress.kubernetes.io/proxy-ssl-verify"] == "on"
    assert annotations["nginx.ingress.kubernetes.io/force-ssl-redirect"] == "true"
    assert annotations["nginx.ingress.kubernetes.io/proxy-ssl-secret"] == (
        f"flink/{identity.outputs['metadata']['name']}"
    )
    # The stack CA to verify the proxy with, and the controller's own client certificate, which the proxy
    # admits by its fingerprint alone.
    data = {key: base64.b64decode(value) for key, value in identity.inputs["data"].items()}
    assert x509.load_pem_x509_certificate(data["ca.crt"]) == x509.load_pem_x509_certificate(
        dev.outputs["caCertificate"].encode()
    )
    caller = x509.load_pem_x509_certificate(data["tls.crt"])
    assert caller.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]
    )
    nginx_conf = one(dev, "etl-ui-proxy-config", "kubernetes:core/v1:ConfigMap").inputs["data"]["nginx.conf"]
    assert f"{caller.fingerprint(hashes.SHA1()).hex()} 1;" in nginx_conf
    sans = proxy_certificate(dev, "etl-ui").extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert annotations["nginx.ingress.kubernetes.io/proxy-ssl-name"] in sans.get_values_for_type(x509.DNSName)
    assert not any("snippet" in key for key in annotations), "configuration snippets are CVE-2021-25742 territory"


def test_ingress_with_a_domain_gets_a_host_and_tls_for_it():
    result = StackRunner("dev").up(domain="flink.example.com")
    spec = one(result, "etl-ui-proxy-ingress", INGRESS).inputs["spec"]
    assert spec["rules"][0]["host"] == "etl.flink.example.com" and spec["rules"][0]["http"]["paths"][0]["path"] == "/"
    assert spec["tls"][0]["hosts"] == ["etl.flink.example.com"]
    sans = proxy_certificate(result, "etl-ui").extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "etl.flink.example.com" in sans.get_values_for_type(x509.DNSName)
    assert result.outputs["uiUrls"]["etl"] == "https://etl.flink.example.com/"


def pod_spec(result: RunResult, component: str) -> dict:
    return one(result, f"{component}-proxy-deployment", DEPLOYMENT).inputs["spec"]["template"]["spec"]


@pytest.mark.parametrize("stack", ["dev", "ocp"])
def test_proxy_pod_is_hardened(stack, dev, ocp):
    pod = pod_spec({"dev": dev, "ocp": ocp}[stack], "etl-ui")
    (container,) = pod["containers"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] is True and context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]} and context["privileged"] is False
    assert container["resources"]["limits"] and container["resources"]["requests"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == names.HEALTH_PATH
    assert ":" in container["image"] and not container["image"].endswith(":latest")
    writable = [m for m in container["volumeMounts"] if not m.get("readOnly")]
    assert [m["mountPath"] for m in writable] == ["/tmp"]


def test_openshift_leaves_the_uid_to_the_restricted_scc(dev, ocp):
    assert "runAsUser" not in pod_spec(ocp, "etl-ui")["securityContext"]
    assert pod_spec(dev, "etl-ui")["securityContext"]["runAsUser"] > 10000


def test_service_and_network_policy_select_the_proxy_pods(dev):
    template = one(dev, "etl-ui-proxy-deployment", DEPLOYMENT).inputs["spec"]["template"]
    pod_labels = template["metadata"]["labels"]
    selector = one(dev, "etl-ui-proxy-service", "kubernetes:core/v1:Service").inputs["spec"]["selector"]
    assert selector.items() <= pod_labels.items()
    policy = one(dev, "etl-jobmanager", POLICY).inputs["spec"]
    rest_rule = next(rule for rule in policy["ingress"] if rule.get("ports"))
    assert rest_rule["ports"] == [{"protocol": "TCP", "port": 8081}]
    peers = rest_rule["from"]
    assert any(
        p.get("podSelector", {}).get("matchLabels", {}).items() <= pod_labels.items() and p.get("podSelector")
        for p in peers
    )
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "flink-operator"}}} in peers
    assert policy["podSelector"]["matchLabels"] == {"app": "etl", "component": "jobmanager"}


def test_without_ui_the_rest_port_is_only_for_the_operator():
    result = StackRunner("dev").up(uiEnabled=False)
    assert not [r for r in result.resources if r.type == "secureflink:index:SecureFlinkUI"]
    assert "uiUrls" not in result.outputs
    rest_rule = next(r for r in one(result, "etl-jobmanager", POLICY).inputs["spec"]["ingress"] if r.get("ports"))
    assert rest_rule["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "flink-operator"}}}
    ]


# Every scheme the proxy may use; passlib's HtpasswdFile leaves {SSHA} out of its defaults.
VERIFIER = CryptContext(schemes=["ldap_salted_sha1", "apr_md5_crypt", "sha512_crypt", "bcrypt"])


def logs_in(result: RunResult, component: str, user: str, password: str) -> bool:
    data = one(result, f"{component}-proxy-htpasswd", SECRET).inputs["data"]
    lines = dict(line.split(":", 1) for line in base64.b64decode(data["htpasswd"]).decode().splitlines())
    return user in lines and VERIFIER.verify(password, lines[user])


def test_generated_passwords_are_secret_outputs_that_log_in(dev):
    assert "uiGeneratedPasswords" in dev.secret_outputs
    password = dev.outputs["uiGeneratedPasswords"]["etl"]["admin"]
    assert len(password) == 32
    assert logs_in(dev, "etl-ui", "admin", password)
    assert not logs_in(dev, "adhoc-ui", "admin", password), "each UI has its own password"
    assert dev.outputs["uiUsers"] == ["admin"]


def test_a_user_set_password_is_used_and_not_generated():
    users = [{"name": "admin"}, {"name": "alice", "password": STRONG}]
    result = StackRunner("dev").up(secret_keys=("uiUsers",), uiUsers=users)
    assert logs_in(result, "etl-ui", "alice", STRONG)
    assert set(result.outputs["uiGeneratedPasswords"]["etl"]) == {"admin"}
    assert not [r for r in result.resources if r.name == "etl-ui-password-alice"]
    assert "uiUsers" not in result.outputs or STRONG not in str(result.outputs)


def test_htpasswd_and_config_payloads_are_requested_secret_or_public_on_purpose(dev):
    assert "data" in one(dev, "etl-ui-proxy-htpasswd", SECRET).secret_inputs
    assert "data" in one(dev, "etl-ui-proxy-tls", SECRET).secret_inputs
    config = one(dev, "etl-ui-proxy-config", "kubernetes:core/v1:ConfigMap")
    assert "PRIVATE KEY" not in str(config.inputs) and "{SSHA}" not in str(config.inputs)


def test_second_up_keeps_the_htpasswd_and_a_new_password_rolls_the_proxy():
    users = [{"name": "alice", "password": STRONG}]
    runner = StackRunner("dev")
    runner.up(secret_keys=("uiUsers",), uiUsers=users)
    assert runner.up(secret_keys=("uiUsers",), uiUsers=users).changes() == {}
    changed = runner.up(secret_keys=("uiUsers",), uiUsers=[{"name": "alice", "password": STRONG + "!"}])
    operations = {r.name: changed.operations[r.urn] for r in changed.resources if r.urn in changed.changes()}
    assert operations == {
        "etl-ui-proxy-htpasswd": "replace",
        "etl-ui-proxy-deployment": "update",
        "adhoc-ui-proxy-htpasswd": "replace",
        "adhoc-ui-proxy-deployment": "update",
    }


def test_nginx_conf_points_at_what_the_pod_mounts(dev):
    conf = one(dev, "etl-ui-proxy-config", "kubernetes:core/v1:ConfigMap").inputs["data"]["nginx.conf"]
    mounts = [m["mountPath"] for m in pod_spec(dev, "etl-ui")["containers"][0]["volumeMounts"]]
    for path in (
        f"{names.PROXY_TLS_MOUNT}/tls.crt",
        f"{names.PROXY_AUTH_MOUNT}/htpasswd",
        f"{names.PROXY_CONFIG_MOUNT}/flink-ca.crt",
    ):
        assert path in conf and any(path.startswith(m + "/") for m in mounts)
    assert "proxy_ssl_verify on;" in conf and "proxy_ssl_name etl-rest.flink.svc.cluster.local;" in conf
