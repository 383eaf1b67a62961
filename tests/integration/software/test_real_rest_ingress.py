"""The Kubernetes REST entry point as it runs: real nginx configured as ingress-nginx (v1.14.5) configures itself
from our rendered Ingress, in front of the real REST API proxy (nginx, from the rendered ConfigMap), in front of a
real Flink JobManager rendered from the stack.

For each `restAuthentication` x `tlsProtocol` (and ECDSA keys under TLS 1.2, whose suites differ), two
`pulumi up`s of the dev stack: the first issues ci-bot (admin), dana (viewer) and alice, the second removes alice.
"""

import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from secure_flink.domain import names
from secure_flink.domain.exposure import INGRESS_NGINX
from tests.conftest import StackRunner
from tests.integration.software.client_certificates import forged_identity, issued_identity
from tests.integration.software.https_client import exchange, jar_upload_form, request_bytes
from tests.integration.software.ingress_nginx import IngressRefused, controller_nginx_conf
from tests.integration.software.local_flink import require_flink, running_jobmanager
from tests.integration.software.rest_gateway import rest_ingress, running_rest_gateway, secrets_by_name

pytestmark = pytest.mark.real
DEPLOYMENT = "adhoc"  # a session cluster: its REST API takes jar uploads
DOMAIN = "flink.example.com"
HOST = names.rest_api_host(DEPLOYMENT, DOMAIN)
PROXY_HOST = names.proxy_dns_names(names.rest_api_service(DEPLOYMENT), "flink", None)[2]
VARIANTS = {
    "mtls-TLSv1.3": ("mtls", "TLSv1.3", "RSA"),
    "mtls-TLSv1.2-ECDSA": ("mtls", "TLSv1.2", "ECDSA"),
    "tls-TLSv1.2": ("tls", "TLSv1.2", "RSA"),
}
STAYING = [{"name": "ci-bot", "role": "admin"}, {"name": "dana", "role": "viewer"}]


def render(authentication: str, protocol: str, key_algorithm: str):
    runner = StackRunner("dev")
    deployments = runner.values["deployments"]
    for item in deployments:
        item["restAuthentication"] = authentication
    common = {"deployments": deployments, "domain": DOMAIN, "tlsProtocol": protocol, "keyAlgorithm": key_algorithm}
    first = runner.up(**common, restClients=[*STAYING, {"name": "alice", "role": "admin"}])
    return first, runner.up(**common, restClients=STAYING)


def get(
    port: int, ca_file: Path, identity: tuple[Path, Path] | None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    request = request_bytes("GET", "/overview", HOST, b"", headers)
    status, _, body = exchange(port, ca_file, HOST, request, identity=identity)
    return status, body


def upload(
    port: int, ca_file: Path, identity: tuple[Path, Path], size: int, headers: dict[str, str] | None = None
) -> int:
    """POST /jars/upload of a `size`-byte jar, as the seed tutorial's curl -F does."""
    body, form_headers = jar_upload_form(b"PK" + bytes(size))
    request = request_bytes("POST", "/jars/upload", HOST, body, {**form_headers, **(headers or {})})
    return exchange(port, ca_file, HOST, request, identity=identity)[0]


@pytest.fixture(scope="module", params=list(VARIANTS), ids=list(VARIANTS))
def gateway(request, tmp_path_factory):
    require_flink("the Ingress is proven in front of a real Flink JobManager")
    removed, current = render(*VARIANTS[request.param])
    workdir = tmp_path_factory.mktemp("rest-ingress")
    with (
        running_jobmanager(current, DEPLOYMENT, workdir) as (flink, _),
        running_rest_gateway(current, DEPLOYMENT, flink.rest_port) as chain,
    ):
        # The Ingress and the proxy serve certificates from the stack CA, what clients verify them with.
        (workdir / "ca.crt").write_text(current.outputs["caCertificate"])
        yield current, removed, chain, flink, workdir


def test_an_issued_client_gets_flinks_json_through_the_controller_and_the_proxy(gateway):
    current, _, chain, _, workdir = gateway
    status, body = get(chain.controller.port, workdir / "ca.crt", issued_identity(current, "ci-bot", workdir))
    assert status == 200, chain.error_logs()
    assert "flink-version" in json.loads(body)


def test_a_jar_larger_than_the_controllers_default_body_size_uploads(gateway):
    """ingress-nginx allows 1m bodies unless told otherwise; the seed tutorial uploads jars through this Ingress."""
    current, _, chain, _, workdir = gateway
    identity = issued_identity(current, "ci-bot", workdir)
    assert upload(chain.controller.port, workdir / "ca.crt", identity, 3 * 1024 * 1024) == 200


def test_a_removed_client_is_refused_by_the_cn_allow_list(gateway):
    _, removed, chain, _, workdir = gateway
    assert get(chain.controller.port, workdir / "ca.crt", issued_identity(removed, "alice", workdir))[0] == 403


def test_no_client_certificate_is_refused_by_the_controller(gateway):
    _, _, chain, _, workdir = gateway
    assert get(chain.controller.port, workdir / "ca.crt", None)[0] == 400


def test_a_clients_own_subject_header_is_replaced_by_the_controllers(gateway):
    """dana, a viewer, claims ci-bot's subject (an admin's) in the header the proxy reads: the controller sets the
    header from the certificate it verified, so dana stays a viewer."""
    current, _, chain, _, workdir = gateway
    admin = {"ssl-client-subject-dn": names.subject_dn(issued_common_name(current, "ci-bot"))}
    dana = issued_identity(current, "dana", workdir)
    assert get(chain.controller.port, workdir / "ca.crt", dana, admin)[0] == 200, "control: a viewer reads"
    assert upload(chain.controller.port, workdir / "ca.crt", dana, 1024, admin) == 403
    ci_bot = issued_identity(current, "ci-bot", workdir)
    assert upload(chain.controller.port, workdir / "ca.crt", ci_bot, 1024) == 200, "control: the admin uploads"


def test_only_the_controller_may_name_the_caller_to_the_proxy(gateway):
    """Connecting to the proxy itself with an admin's subject in the header: no certificate or a REST client's
    (another CA) is 400; a certificate of the stack CA that is not the controller's is 403."""
    current, _, chain, _, workdir = gateway
    admin = {"ssl-client-subject-dn": names.subject_dn(issued_common_name(current, "ci-bot"))}
    callers = {
        "none": (None, 400),
        "rest-client": (issued_identity(current, "ci-bot", workdir), 400),
        "stack-ca": (forged_identity(current, workdir, "stack-ca-client", authority="stack-ca"), 403),
    }
    for caller, (identity, expected) in callers.items():
        request = request_bytes("GET", "/overview", PROXY_HOST, b"", admin)
        status, _, _ = exchange(chain.proxy.port, workdir / "ca.crt", PROXY_HOST, request, identity=identity)
        assert status == expected, caller


def issued_common_name(result, client: str) -> str:
    certificate = x509.load_pem_x509_certificate(result.outputs["restClients"][client]["certificate"].encode())
    return certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def _name(*attributes: tuple) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes])


def test_the_cn_allow_list_is_anchored_at_both_ends(gateway):
    """Certificates from the client CA whose subject DN (RFC 2253, as nginx prints it) holds an allowed CN
    somewhere other than as its whole first attribute are refused; the control, the same forging with the
    DN of the issued certificate, is admitted."""
    current, _, chain, _, workdir = gateway
    port = chain.controller.port
    cn = issued_common_name(current, "ci-bot")
    ca_file = workdir / "ca.crt"
    control = forged_identity(
        current,
        workdir,
        "same-dn",
        subject=_name((NameOID.ORGANIZATION_NAME, "secure-flink"), (NameOID.COMMON_NAME, cn)),
    )
    assert get(port, ca_file, control)[0] == 200
    forgeries = {
        # s_dn "CN=evil,O=CN=<cn>": the allowed CN at the end of another attribute.
        "cn-at-the-end": _name((NameOID.ORGANIZATION_NAME, f"CN={cn}"), (NameOID.COMMON_NAME, "evil")),
        # s_dn "CN=<cn>x,O=secure-flink": more after the allowed CN.
        "cn-with-a-suffix": _name((NameOID.ORGANIZATION_NAME, "secure-flink"), (NameOID.COMMON_NAME, cn + "x")),
        # s_dn "CN=x<cn>,O=secure-flink".
        "cn-with-a-prefix": _name((NameOID.ORGANIZATION_NAME, "secure-flink"), (NameOID.COMMON_NAME, "x" + cn)),
    }
    statuses = {
        stem: get(port, ca_file, forged_identity(current, workdir, stem, subject=subject))[0]
        for stem, subject in forgeries.items()
    }
    assert statuses == dict.fromkeys(forgeries, 403)


def test_a_match_cn_without_the_cn_prefix_is_refused_by_the_controller(gateway):
    """Control for the emulation: the controller refuses `^CN=...` (its validator wants the `CN=` prefix)."""
    current, _, _, _, workdir = gateway
    ingress = rest_ingress(current, DEPLOYMENT)
    annotations = {**ingress["metadata"]["annotations"], f"{INGRESS_NGINX}/auth-tls-match-cn": "^CN=(ci-bot)$"}
    with pytest.raises(IngressRefused, match="prefix"):
        controller_nginx_conf(
            {**ingress, "metadata": {**ingress["metadata"], "annotations": annotations}},
            secrets_by_name(current),
            workdir,
            listen_port=1,
            upstream_port=1,
        )
