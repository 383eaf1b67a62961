"""Each component on its own, as a program that uses the package would build it: what it registers, under whom,
and what it refuses before registering anything. The offline engine runs each as a one-component program."""

from collections.abc import Callable
from typing import Any

import pulumi
import pytest
import trustme
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from offline.engine import Engine, RunResult
from secure_flink.components import (
    CertificateAuthority,
    CertificateAuthorityArgs,
    FlinkInternalTLS,
    FlinkInternalTLSArgs,
    NetworkBaselineArgs,
    ProxyUser,
    RestMTLSIngress,
    RestMTLSIngressArgs,
    SecureFlinkDeployment,
    SecureFlinkDeploymentArgs,
    SecureFlinkUI,
    SecureFlinkUIArgs,
)
from secure_flink.components.flink_rest_proxy import ClientCertificateAuth, FlinkUpstream
from secure_flink.domain.deployment import DeploymentSettings
from secure_flink.domain.exposure import Termination
from secure_flink.domain.flink_conf import RestAuthentication
from secure_flink.domain.flink_deployment import DeploymentMode, ProcessResources
from secure_flink.domain.htpasswd import HashScheme
from secure_flink.domain.network_policy import KUBERNETES_DNS
from secure_flink.domain.platform_profile import Platform, PlatformProfile, platform_profile
from secure_flink.domain.proxy_workload import ProxyOptions
from secure_flink.domain.roles import Role
from secure_flink.domain.tls_policy import CertificateLifetime, IssuancePolicy, KeyAlgorithm, KeySpec, TlsProtocol
from tests.conftest import PROJECT, PROJECT_DIR

POLICY = IssuancePolicy(
    key=KeySpec(algorithm=KeyAlgorithm.ECDSA, ecdsa_curve="P256"),
    ca_lifetime=CertificateLifetime(validity_hours=8760, early_renewal_hours=720),
    cert_lifetime=CertificateLifetime(validity_hours=2160, early_renewal_hours=720),
    rotation="initial",
)
OPTIONS = ProxyOptions(image="nginxinc/nginx-unprivileged:1.29.4-alpine", max_body_size="64m", ingress_class="nginx")
# Flink's REST CA, from outside the component under test: a fixture only, so trustme makes it.
FLINK_REST_CA = trustme.CA().cert_pem.bytes().decode()
SECRET = "kubernetes:core/v1:Secret"


def alone(program: Callable[[], object]) -> RunResult:
    return Engine(PROJECT_DIR, PROJECT, "alone").run_program(program)


def profile(platform: Platform, *, rest_clients: bool = False) -> PlatformProfile:
    return platform_profile(
        platform, ingress_controller_namespace="ingress-nginx", ui_enabled=True, rest_clients=rest_clients
    )


def upstream(identity: tuple[str, str] | None = None) -> FlinkUpstream:
    return FlinkUpstream(deployment_name="etl", namespace="flink", rest_ca_pem=FLINK_REST_CA, identity=identity)


def authority(name: str = "test-ca") -> CertificateAuthority:
    return CertificateAuthority(name, CertificateAuthorityArgs(common_name="test CA", policy=POLICY))


def names_under(result: RunResult, component_name: str) -> dict[str, str]:
    (parent,) = [r for r in result.resources if r.name == component_name and not r.custom]
    return {r.name: r.type for r in result.resources if r.parent == parent.urn}


def certificate(result: RunResult, name: str) -> x509.Certificate:
    (resource,) = [r for r in result.resources if r.name == name]
    return x509.load_pem_x509_certificate(resource.outputs["certPem"].encode())


def test_a_certificate_authority_alone_signs_what_it_issues_for_exactly_the_usages_asked() -> None:
    def program() -> None:
        ca = authority()
        ca.issue_server_certificate("web", dns_names=["web.example.com"], opts=pulumi.ResourceOptions(parent=ca))
        ca.issue_client_certificate("bot", common_name="bot", opts=pulumi.ResourceOptions(parent=ca))

    result = alone(program)
    assert set(names_under(result, "test-ca")) == {
        *("test-ca-key", "test-ca-cert"),
        *("web-key", "web-csr", "web-cert"),
        *("bot-key", "bot-csr", "bot-cert"),
    }
    ca, web, bot = (certificate(result, n) for n in ("test-ca-cert", "web-cert", "bot-cert"))
    assert web.issuer == bot.issuer == ca.subject
    web.verify_directly_issued_by(ca)
    assert web.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName
    ) == ["web.example.com"]
    usages = {
        c: list(certificate(result, c).extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
        for c in ("web-cert", "bot-cert")
    }
    assert usages == {"web-cert": [ExtendedKeyUsageOID.SERVER_AUTH], "bot-cert": [ExtendedKeyUsageOID.CLIENT_AUTH]}


def test_flink_internal_tls_alone_gives_flink_its_stores_and_settings() -> None:
    def program() -> None:
        tls = FlinkInternalTLS(
            "etl-tls",
            FlinkInternalTLSArgs(
                deployment_name="etl",
                namespace="flink",
                policy=POLICY,
                protocol=TlsProtocol.TLS_1_3,
                rest_authentication=RestAuthentication.MTLS,
                rest_client_identities=("ui-proxy",),
                rest_caller_ca_pems=[FLINK_REST_CA],
            ),
        )
        pulumi.export("configuration", tls.flink_configuration)
        pulumi.export("mounts", tls.secret_mounts)

    result = alone(program)
    children = names_under(result, "etl-tls")
    # Registration order follows when each Secret's inputs resolve: compare as a set.
    assert {n for n, t in children.items() if t == SECRET} == {"etl-tls-passwords", "etl-tls-internal", "etl-tls-rest"}
    assert {"etl-tls-rest-client-ui-proxy-key", "etl-tls-rest-client-ui-proxy-cert"} <= set(children)
    configuration = result.outputs["configuration"]
    assert configuration["security.ssl.rest.authentication-enabled"] == "true"
    assert configuration["security.ssl.internal.enabled"] == "true"
    assert "configuration" in result.secret_outputs
    assert sorted(result.outputs["mounts"].values()) == [
        "/opt/flink/secrets/internal-tls",
        "/opt/flink/secrets/rest-tls",
    ]


@pytest.mark.parametrize(
    ("platform", "exposure_type"),
    [
        (Platform.KUBERNETES, "kubernetes:networking.k8s.io/v1:Ingress"),
        (Platform.OPENSHIFT, "kubernetes:route.openshift.io/v1:Route"),
    ],
)
def test_secure_flink_ui_alone_is_exposed_the_way_its_platform_profile_says(platform, exposure_type) -> None:
    def program() -> None:
        issuer = authority()
        ui = SecureFlinkUI(
            "etl-ui",
            SecureFlinkUIArgs(
                upstream=upstream(),
                issuer=issuer,
                users=[ProxyUser(name="admin")],
                hash_scheme=HashScheme.SSHA,
                host="etl.flink.example.com",
                route_termination=Termination.REENCRYPT,
                profile=profile(platform),
                options=OPTIONS,
            ),
        )
        pulumi.export("url", ui.url)

    result = alone(program)
    proxy = names_under(result, "etl-ui-proxy")
    assert exposure_type in proxy.values()
    assert result.outputs["url"] == "https://etl.flink.example.com/"
    (deployment,) = result.by_type("kubernetes:apps/v1:Deployment")
    (container,) = deployment.inputs["spec"]["template"]["spec"]["containers"]
    assert container["image"] == OPTIONS.image


@pytest.mark.parametrize("platform", [Platform.KUBERNETES, Platform.OPENSHIFT])
def test_rest_mtls_ingress_alone_puts_the_role_checking_proxy_behind_the_platforms_entry_point(platform) -> None:
    def program() -> None:
        RestMTLSIngress(
            "etl-api",
            RestMTLSIngressArgs(
                upstream=upstream(),
                host="etl-api.flink.example.com",
                issuer=authority(),
                clients=ClientCertificateAuth(
                    ca_pem=FLINK_REST_CA,
                    common_names={"ci-bot": "ci-bot.0a1b2c3d"},
                    fingerprints={"ci-bot": "ab" * 20},
                    roles={"ci-bot": Role.OPERATOR},
                ),
                profile=profile(platform, rest_clients=True),
                options=OPTIONS,
            ),
        )

    result = alone(program)
    (proxy,) = result.by_type("kubernetes:apps/v1:Deployment")
    assert proxy.name == "etl-api-proxy-deployment"
    (config,) = result.by_type("kubernetes:core/v1:ConfigMap")
    conf = config.inputs["data"]["nginx.conf"]
    ingresses = result.by_type("kubernetes:networking.k8s.io/v1:Ingress")
    if platform is Platform.OPENSHIFT:
        assert not ingresses
        assert f'"~^{"ab" * 20}$" operator;' in conf
    else:
        (ingress,) = ingresses
        assert ingress.inputs["metadata"]["annotations"]["nginx.ingress.kubernetes.io/auth-tls-verify-client"] == "on"
        assert ingress.inputs["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == "etl-api"
        assert r'"~^CN=ci\-bot\.0a1b2c3d,O=secure\-flink$" operator;' in conf


def test_secure_flink_deployment_alone_names_the_cluster_after_the_deployment_not_the_component() -> None:
    deployment = DeploymentSettings(
        name="etl",
        image="flink:2.2.1-scala_2.12-java17",
        flink_version="v2_2",
        mode=DeploymentMode.STANDALONE,
        service_account="etl-flink",
        job_manager=ProcessResources(cpu=1, memory="1600m"),
        task_manager=ProcessResources(cpu=1, memory="1728m"),
        job=None,
    )

    def program() -> None:
        SecureFlinkDeployment(
            "etl-cluster",
            SecureFlinkDeploymentArgs(
                deployment=deployment,
                namespace="flink",
                configuration_fragments=[],
                secret_mounts=[],
                operator_namespace="flink-operator",
                api_server_cidrs=[],
                assign_uid=True,
            ),
        )

    result = alone(program)
    (flink,) = result.by_type("kubernetes:flink.apache.org/v1beta1:FlinkDeployment")
    assert flink.name == "etl-cluster" and flink.inputs["metadata"]["name"] == "etl"
    # Standalone without Kubernetes HA: no API access, so no Role and no token.
    assert not result.by_type("kubernetes:rbac.authorization.k8s.io/v1:Role")
    (account,) = result.by_type("kubernetes:core/v1:ServiceAccount")
    assert account.inputs["automountServiceAccountToken"] is False


BAD_ARGUMENTS: list[tuple[str, Callable[[], Any], list[str]]] = [
    (
        "policy",
        lambda: IssuancePolicy(
            key=KeySpec(algorithm=KeyAlgorithm.RSA, rsa_bits=1024),
            ca_lifetime=CertificateLifetime(validity_hours=100, early_renewal_hours=720),
            cert_lifetime=CertificateLifetime(validity_hours=2160, early_renewal_hours=720),
            rotation="next month",
        ),
        [
            "IssuancePolicy.key.rsa_bits = 1024: must be one of 2048, 3072, 4096. Fix: rsa_bits=3072",
            "IssuancePolicy.ca_lifetime.validity_hours = 100: must be above early_renewal_hours (720)",
            "IssuancePolicy.ca_lifetime.validity_hours = 100: must be at least cert_lifetime.validity_hours (2160)",
            "IssuancePolicy.rotation = \"next month\": must be 1-63 letters, digits, '.', '_' or '-'",
        ],
    ),
    (
        "proxy options",
        lambda: ProxyOptions(image="nginx:latest", max_body_size="lots", ingress_class="Nginx"),
        [
            'ProxyOptions.image = "nginx:latest": must be an image reference pinned by a version tag',
            'ProxyOptions.max_body_size = "lots": must be an nginx size such as 256m',
            'ProxyOptions.ingress_class = "Nginx": must be a DNS-1123 label',
        ],
    ),
    (
        "ui users",
        lambda: SecureFlinkUIArgs(
            upstream=upstream(),
            issuer=None,  # type: ignore[arg-type]  # never reached: the arguments are refused first
            users=[ProxyUser(name="admin", password="hunter2"), ProxyUser(name="admin"), ProxyUser(name="a:b")],
            hash_scheme=HashScheme.SSHA,
            host="https://etl.example.com",
            route_termination=Termination.REENCRYPT,
            profile=profile(Platform.KUBERNETES),
            options=OPTIONS,
        ),
        [
            'SecureFlinkUIArgs.users[0].password = "[secret]": is too weak: It is shorter than 16 characters.',
            'SecureFlinkUIArgs.users[1].name = "admin": is listed twice',
            "SecureFlinkUIArgs.users[2].name = \"a:b\": must not contain ':'",
            'SecureFlinkUIArgs.host = "https://etl.example.com": must be a DNS name without scheme, port or path',
        ],
    ),
    (
        "upstream",
        lambda: FlinkUpstream(deployment_name="ETL", namespace="flink_jobs", rest_ca_pem=FLINK_REST_CA),
        [
            'FlinkUpstream.deployment_name = "ETL": must be a DNS-1035 label of at most 45 characters',
            'FlinkUpstream.namespace = "flink_jobs": must be a DNS-1123 label',
        ],
    ),
    (
        "baseline",
        lambda: NetworkBaselineArgs(namespace="", dns=KUBERNETES_DNS),
        ['NetworkBaselineArgs.namespace = "": must be a DNS-1123 label'],
    ),
]


@pytest.mark.parametrize(("case", "build", "expected"), BAD_ARGUMENTS, ids=[c for c, _, _ in BAD_ARGUMENTS])
def test_bad_arguments_are_refused_whole_naming_field_value_and_fix(case, build, expected) -> None:
    with pytest.raises(ValueError) as refused:
        build()
    lines = str(refused.value).splitlines()[1:]
    assert len(lines) == len(expected)
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(f"  - {start}") and ". Fix: " in line
    assert "hunter2" not in str(refused.value)


def test_a_component_with_bad_arguments_registers_nothing() -> None:
    engine = Engine(PROJECT_DIR, PROJECT, "alone")
    with pytest.raises(ValueError, match="CertificateAuthorityArgs.common_name"):
        engine.run_program(lambda: CertificateAuthority("ca", CertificateAuthorityArgs(common_name="", policy=POLICY)))
    assert engine.state == {}


def test_arguments_and_stack_config_refuse_a_value_for_the_same_reason() -> None:
    from secure_flink.settings import ConfigError, MappingConfig, read_settings
    from tests.conftest import stack_values

    with pytest.raises(ConfigError) as from_config:
        read_settings(MappingConfig({**stack_values("dev"), "rsaBits": 1024}))
    with pytest.raises(ValueError) as from_arguments:
        IssuancePolicy(key=KeySpec(algorithm=KeyAlgorithm.RSA, rsa_bits=1024), **POLICY_LIFETIMES)
    (config_problem,) = from_config.value.problems
    (argument_problem,) = from_arguments.value.problems  # type: ignore[attr-defined]
    assert config_problem.reason == argument_problem.reason


POLICY_LIFETIMES: dict[str, Any] = {
    "ca_lifetime": POLICY.ca_lifetime,
    "cert_lifetime": POLICY.cert_lifetime,
    "rotation": "initial",
}


def test_the_readme_example_runs_as_written() -> None:
    readme = (PROJECT_DIR / "README.md").read_text()
    section = readme.split("### Using the components in your own program", 1)[1]
    example = section.split("```python\n", 1)[1].split("```", 1)[0]
    result = alone(lambda: exec(compile(example, "README.md", "exec"), {}))
    assert "security.ssl.internal.keystore" in result.outputs["flinkConfiguration"]
    assert "flinkConfiguration" in result.secret_outputs
