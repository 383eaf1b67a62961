"""The Kubernetes REST Ingress as ingress-nginx runs it: real nginx, configured as the controller (v1.14.5)
configures itself from our rendered annotations, in front of a real Flink JobManager rendered from the stack.

For each `restAuthentication` x `tlsProtocol` (and ECDSA keys under TLS 1.2, whose suites differ), two
`pulumi up`s of the dev stack: the first issues ci-bot and alice, the second removes alice.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from secure_flink.domain import names
from secure_flink.domain.exposure import INGRESS_NGINX
from tests.conftest import StackRunner, require_tool
from tests.integration.software.client_certificates import forged_identity, issued_identity
from tests.integration.software.https_client import exchange, jar_upload_form, request_bytes
from tests.integration.software.ingress_nginx import IngressRefused, controller_nginx_conf
from tests.integration.software.local_flink import require_flink, running_jobmanager
from tests.integration.software.local_nginx import LocalNginx, free_port, scratch_dir

pytestmark = pytest.mark.real
DEPLOYMENT = "adhoc"  # a session cluster: its REST API takes jar uploads
DOMAIN = "flink.example.com"
HOST = names.rest_api_host(DEPLOYMENT, DOMAIN)
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
SECRET = "kubernetes:core/v1:Secret"
VARIANTS = {
    "mtls-TLSv1.3": ("mtls", "TLSv1.3", "RSA"),
    "mtls-TLSv1.2": ("mtls", "TLSv1.2", "RSA"),
    "mtls-TLSv1.2-ECDSA": ("mtls", "TLSv1.2", "ECDSA"),
    "tls-TLSv1.3": ("tls", "TLSv1.3", "RSA"),
    "tls-TLSv1.2": ("tls", "TLSv1.2", "RSA"),
}


def render(authentication: str, protocol: str, key_algorithm: str):
    runner = StackRunner("dev")
    deployments = runner.values["deployments"]
    for item in deployments:
        item["restAuthentication"] = authentication
    common = {"deployments": deployments, "domain": DOMAIN, "tlsProtocol": protocol, "keyAlgorithm": key_algorithm}
    first = runner.up(**common, restClients=[{"name": "ci-bot"}, {"name": "alice"}])
    return first, runner.up(**common, restClients=[{"name": "ci-bot"}])


def rest_ingress(result) -> dict:
    (ingress,) = [
        r for r in result.by_type(INGRESS) if r.outputs["metadata"]["name"] == names.rest_api_service(DEPLOYMENT)
    ]
    return ingress.outputs


def secrets_by_name(result) -> dict[str, dict]:
    return {r.outputs["metadata"]["name"]: r.outputs for r in result.by_type(SECRET)}


@contextmanager
def controller(ingress: dict, secrets: dict[str, dict], upstream_port: int) -> Iterator[LocalNginx]:
    nginx = require_tool("nginx", "the Ingress is proven on the nginx ingress-nginx would configure")
    with scratch_dir() as root:
        port = free_port()
        conf = controller_nginx_conf(ingress, secrets, root, listen_port=port, upstream_port=upstream_port)
        with LocalNginx(nginx, conf, root, port) as running:
            yield running


def get(port: int, ca_file: Path, identity: tuple[Path, Path] | None) -> tuple[int, bytes]:
    status, _, body = exchange(port, ca_file, HOST, request_bytes("GET", "/overview", HOST), identity=identity)
    return status, body


def upload(port: int, ca_file: Path, identity: tuple[Path, Path], size: int) -> int:
    """POST /jars/upload of a `size`-byte jar, as the seed tutorial's curl -F does."""
    body, headers = jar_upload_form(b"PK" + bytes(size))
    request = request_bytes("POST", "/jars/upload", HOST, body, headers)
    return exchange(port, ca_file, HOST, request, identity=identity)[0]


@pytest.fixture(scope="module", params=list(VARIANTS), ids=list(VARIANTS))
def gateway(request, tmp_path_factory):
    require_flink("the Ingress is proven in front of a real Flink JobManager")
    removed, current = render(*VARIANTS[request.param])
    workdir = tmp_path_factory.mktemp("rest-ingress")
    with (
        running_jobmanager(current, DEPLOYMENT, workdir) as (flink, _),
        controller(rest_ingress(current), secrets_by_name(current), flink.rest_port) as nginx,
    ):
        # The Ingress serves a certificate from the stack CA, what clients verify it with.
        (workdir / "ca.crt").write_text(current.outputs["caCertificate"])
        yield current, removed, nginx, flink, workdir


def test_an_issued_client_gets_flinks_json_through_the_controller(gateway):
    current, _, nginx, _, workdir = gateway
    status, body = get(nginx.port, workdir / "ca.crt", issued_identity(current, "ci-bot", workdir))
    assert status == 200, nginx.error_log()[-2000:]
    assert "flink-version" in json.loads(body)


def test_a_jar_larger_than_the_controllers_default_body_size_uploads(gateway):
    """ingress-nginx allows 1m bodies unless told otherwise; the seed tutorial uploads jars through this Ingress."""
    current, _, nginx, _, workdir = gateway
    assert upload(nginx.port, workdir / "ca.crt", issued_identity(current, "ci-bot", workdir), 3 * 1024 * 1024) == 200


def test_a_removed_client_is_refused_by_the_cn_allow_list(gateway):
    _, removed, nginx, _, workdir = gateway
    assert get(nginx.port, workdir / "ca.crt", issued_identity(removed, "alice", workdir))[0] == 403


def test_no_client_certificate_is_refused_by_the_controller(gateway):
    _, _, nginx, _, workdir = gateway
    assert get(nginx.port, workdir / "ca.crt", None)[0] == 400


def test_without_the_protocols_annotation_the_controller_offers_flink_only_tls12(gateway, tmp_path):
    """Control: the Ingress as it was before (no proxy-ssl-protocols). The controller falls back to TLSv1.2,
    which Flink under REST mTLS and TLS 1.3 refuses: 502. Where Flink speaks TLS 1.2, or does not enforce
    its protocol (REST without mTLS, FLINK-39969), the request still passes."""
    current, _, _, flink, workdir = gateway
    ingress = rest_ingress(current)
    annotations = dict(ingress["metadata"]["annotations"])
    del annotations[f"{INGRESS_NGINX}/proxy-ssl-protocols"]
    old = {**ingress, "metadata": {**ingress["metadata"], "annotations": annotations}}
    strict = flink.configuration.get("security.ssl.rest.authentication-enabled") == "true"
    expected = 502 if strict and flink.configuration["security.ssl.protocol"] == "TLSv1.3" else 200
    with controller(old, secrets_by_name(current), flink.rest_port) as nginx:
        assert get(nginx.port, workdir / "ca.crt", issued_identity(current, "ci-bot", workdir))[0] == expected


def issued_common_name(result, client: str) -> str:
    certificate = x509.load_pem_x509_certificate(result.outputs["restClients"][client]["certificate"].encode())
    return certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def _name(*attributes: tuple) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes])


def test_the_cn_allow_list_is_anchored_at_both_ends(gateway):
    """Certificates from the client CA whose subject DN (RFC 2253, as nginx prints it) holds an allowed CN
    somewhere other than as its whole first attribute are refused; the control, the same forging with the
    DN of the issued certificate, is admitted."""
    current, _, nginx, _, workdir = gateway
    cn = issued_common_name(current, "ci-bot")
    ca_file = workdir / "ca.crt"
    control = forged_identity(
        current,
        workdir,
        "same-dn",
        subject=_name((NameOID.ORGANIZATION_NAME, "secure-flink"), (NameOID.COMMON_NAME, cn)),
    )
    assert get(nginx.port, ca_file, control)[0] == 200
    forgeries = {
        # s_dn "CN=evil,O=CN=<cn>": the allowed CN at the end of another attribute.
        "cn-at-the-end": _name((NameOID.ORGANIZATION_NAME, f"CN={cn}"), (NameOID.COMMON_NAME, "evil")),
        # s_dn "CN=<cn>x,O=secure-flink": more after the allowed CN.
        "cn-with-a-suffix": _name((NameOID.ORGANIZATION_NAME, "secure-flink"), (NameOID.COMMON_NAME, cn + "x")),
        # s_dn "CN=x<cn>,O=secure-flink".
        "cn-with-a-prefix": _name((NameOID.ORGANIZATION_NAME, "secure-flink"), (NameOID.COMMON_NAME, "x" + cn)),
    }
    statuses = {
        stem: get(nginx.port, ca_file, forged_identity(current, workdir, stem, subject=subject))[0]
        for stem, subject in forgeries.items()
    }
    assert statuses == dict.fromkeys(forgeries, 403)


def test_a_match_cn_without_the_cn_prefix_is_refused_by_the_controller(gateway):
    """Control for the emulation: the controller refuses `^CN=...` (its validator wants the `CN=` prefix)."""
    current, _, _, _, workdir = gateway
    ingress = rest_ingress(current)
    annotations = {**ingress["metadata"]["annotations"], f"{INGRESS_NGINX}/auth-tls-match-cn": "^CN=(ci-bot)$"}
    with pytest.raises(IngressRefused, match="prefix"):
        controller_nginx_conf(
            {**ingress, "metadata": {**ingress["metadata"], "annotations": annotations}},
            secrets_by_name(current),
            workdir,
            listen_port=1,
            upstream_port=1,
        )
