"""Bad input, table-driven: each configuration fails `pulumi up` with an error that names the key and the
fix, before a single resource is registered."""

from typing import Any

import pytest

from secure_flink.settings import ConfigError
from tests.conftest import StackRunner

IMAGE = "flink:2.2.1-scala_2.12-java17"


def deployment(**fields: Any) -> list[dict[str, Any]]:
    return [{"name": "etl", "image": IMAGE, **fields}]


def etl_config(**options: Any) -> list[dict[str, Any]]:
    return deployment(flinkConfiguration=options)


# (case, stack overrides, keys set with --secret, the key the error must name, a fragment of its fix)
CASES = [
    # types
    ("platform-unknown", {"platform": "gke"}, (), "platform", "pulumi config set platform kubernetes"),
    ("rsa-bits-not-a-number", {"rsaBits": "lots"}, (), "rsaBits", "pulumi config set rsaBits 3072"),
    ("ui-enabled-not-boolean", {"uiEnabled": "yes"}, (), "uiEnabled", "pulumi config set uiEnabled true"),
    ("deployments-not-json", {"deployments": "etl: {"}, (), "deployments", "Pulumi.<stack>.yaml"),
    (
        "cpu-not-a-number",
        {"deployments": deployment(jobManager={"cpu": "fast"})},
        (),
        "deployments[0].jobManager.cpu",
        "--path 'deployments[0].jobManager.cpu'",
    ),
    (
        "parallelism-not-a-number",
        {"deployments": deployment(job={"jarURI": "local:///opt/j.jar", "parallelism": "two"})},
        (),
        "deployments[0].job.parallelism",
        "--path",
    ),
    (
        "flink-option-not-scalar",
        {"deployments": etl_config(**{"parallelism.default": {"n": 2}})},
        (),
        "deployments[0].flinkConfiguration.parallelism.default",
        "as a string",
    ),
    (
        "egress-not-a-list",
        {"deployments": deployment(egress={"cidr": "10.0.0.0/8"})},
        (),
        "deployments[0].egress",
        "--path 'deployments[0].egress[0].cidr'",
    ),
    # ranges
    ("ca-validity-zero", {"caValidityHours": 0}, (), "caValidityHours", "pulumi config set caValidityHours"),
    (
        "cert-shorter-than-renewal",
        {"certValidityHours": 24, "certEarlyRenewalHours": 48},
        (),
        "certValidityHours",
        "pulumi config set certValidityHours",
    ),
    (
        "ca-shorter-than-cert",
        {"caValidityHours": 100, "certValidityHours": 8760},
        (),
        "caValidityHours",
        "pulumi config set caValidityHours 43800",
    ),
    (
        "parallelism-zero",
        {"deployments": deployment(job={"jarURI": "local:///opt/j.jar", "parallelism": 0})},
        (),
        "deployments[0].job.parallelism",
        "--path 'deployments[0].job.parallelism' 2",
    ),
    (
        "memory-not-a-size",
        {"deployments": deployment(taskManager={"memory": "lots"})},
        (),
        "deployments[0].taskManager.memory",
        "1728m",
    ),
    (
        "egress-port-out-of-range",
        {"deployments": deployment(egress=[{"cidr": "10.0.0.0/8", "ports": [70000]}])},
        (),
        "deployments[0].egress[0].ports",
        "--path 'deployments[0].egress[0].ports[0]'",
    ),
    (
        "egress-without-ports",
        {"deployments": deployment(egress=[{"cidr": "10.0.0.0/8"}])},
        (),
        "deployments[0].egress[0].ports",
        "--path",
    ),
    # names
    (
        "deployment-name-not-a-label",
        {"deployments": [{"name": "Not_A_Label", "image": IMAGE}]},
        (),
        "deployments[0].name",
        "--path 'deployments[0].name' not-a-label",
    ),
    (
        "deployment-name-too-long",
        {"deployments": [{"name": "a" * 46, "image": IMAGE}]},
        (),
        "deployments[0].name",
        "--path 'deployments[0].name'",
    ),
    ("namespace-not-a-label", {"namespace": "Flink!"}, (), "namespace", "pulumi config set namespace flink"),
    (
        "rest-client-name-with-space",
        {"domain": "flink.example.com", "restClients": [{"name": "CI Bot"}]},
        (),
        "restClients[0].name",
        "--path 'restClients[0].name' ci-bot",
    ),
    (
        "ui-user-name-with-colon",
        {"uiUsers": [{"name": "ad:min"}]},
        (),
        "uiUsers[0].name",
        "--path 'uiUsers[0].name' admin",
    ),
    (
        "service-account-not-a-label",
        {"deployments": deployment(serviceAccount="Bad_Account")},
        (),
        "deployments[0].serviceAccount",
        "--path 'deployments[0].serviceAccount'",
    ),
    (
        "ingress-class-not-a-name",
        {"ingressClass": "Nginx Class"},
        (),
        "ingressClass",
        "pulumi config set ingressClass nginx",
    ),
    (
        "flink-version-unknown",
        {"deployments": deployment(flinkVersion="v9_9")},
        (),
        "deployments[0].flinkVersion",
        "v2_2",
    ),
    (
        "flink-version-too-old",
        {"deployments": deployment(flinkVersion="v1_18")},
        (),
        "deployments[0].flinkVersion",
        "v2_2",
    ),
    (
        "image-latest",
        {"deployments": [{"name": "etl", "image": "flink:latest"}]},
        (),
        "deployments[0].image",
        "flink:2.2.1",
    ),
    ("proxy-image-unpinned", {"proxyImage": "nginx"}, (), "proxyImage", "--path 'proxyImage'"),
    # hosts with a scheme, a path or a port
    (
        "domain-with-scheme",
        {"domain": "https://flink.example.com"},
        (),
        "domain",
        "pulumi config set domain flink.apps.example.com",
    ),
    ("domain-with-path", {"domain": "flink.example.com/ui"}, (), "domain", "pulumi config set domain"),
    ("domain-with-port", {"domain": "flink.example.com:443"}, (), "domain", "pulumi config set domain"),
    ("rest-clients-need-a-domain", {"restClients": [{"name": "ci-bot"}]}, (), "domain", "pulumi config set domain"),
    ("passthrough-route-needs-a-domain", {"platform": "openshift"}, (), "domain", "uiRouteTermination reencrypt"),
    # duplicates
    (
        "duplicate-ui-user",
        {"uiUsers": [{"name": "admin"}, {"name": "admin"}]},
        (),
        "uiUsers[1].name",
        "'uiUsers[1].name' admin-2",
    ),
    (
        "duplicate-rest-client",
        {"domain": "flink.example.com", "restClients": [{"name": "ci"}, {"name": "ci"}]},
        (),
        "restClients[1].name",
        "'restClients[1].name' ci-2",
    ),
    (
        "duplicate-deployment",
        {"deployments": [{"name": "etl", "image": IMAGE}, {"name": "etl", "image": IMAGE}]},
        (),
        "deployments[1].name",
        "unique name",
    ),
    (
        "duplicate-service-account",
        {
            "deployments": [
                {"name": "a", "image": IMAGE, "serviceAccount": "shared-flink"},
                {"name": "b", "image": IMAGE, "serviceAccount": "shared-flink"},
            ]
        },
        (),
        "deployments[1].serviceAccount",
        "pulumi config rm --path 'deployments[1].serviceAccount' (the stack creates b-flink)",
    ),
    # unknown keys
    ("unknown-top-level-key", {"uiPasword": "x"}, (), "uiPasword", "pulumi config rm uiPasword"),
    (
        "unknown-deployment-field",
        {"deployments": deployment(replicas=2)},
        (),
        "deployments[0].replicas",
        "remove it; known fields",
    ),
    (
        "unknown-user-field",
        {"uiUsers": [{"name": "admin", "group": "root"}]},
        (),
        "uiUsers[0].group",
        "remove it; known fields",
    ),
    (
        "unknown-role",
        {"uiUsers": [{"name": "admin", "role": "root"}]},
        (),
        "uiUsers[0].role",
        "--path 'uiUsers[0].role' viewer",
    ),
    (
        "unknown-egress-field",
        {"deployments": deployment(egress=[{"cidr": "10.0.0.0/8", "ports": [9093], "protocol": "UDP"}])},
        (),
        "deployments[0].egress[0].protocol",
        "remove it",
    ),
    # empty lists
    ("no-deployments", {"deployments": []}, (), "deployments", "declare at least one item"),
    ("no-ui-users", {"uiUsers": []}, (), "uiUsers", "--path 'uiUsers[0].name' admin"),
    ("no-api-server-for-native-mode", {"apiServerCidrs": []}, (), "apiServerCidrs", "kubectl get endpoints kubernetes"),
    # weak or exposed passwords
    (
        "weak-password",
        {"uiUsers": [{"name": "admin", "password": "password123"}]},
        ("uiUsers",),
        "uiUsers[0].password",
        "pulumi config set --secret --path 'uiUsers[0].password'",
    ),
    (
        "password-contains-user-name",
        {"uiUsers": [{"name": "admin", "password": "admin-Admin-admin-2026!"}]},
        ("uiUsers",),
        "uiUsers[0].password",
        "--secret",
    ),
    (
        "plain-text-password",
        {"uiUsers": [{"name": "admin", "password": "Vq7#pL2!xR9@kT4$wZ8&"}]},
        (),
        "uiUsers[0].password",
        "--secret",
    ),
    # flinkConfiguration keys the stack owns
    (
        "internal-ssl-turned-off",
        {"deployments": etl_config(**{"security.ssl.internal.enabled": "false"})},
        (),
        "deployments[0].flinkConfiguration.security.ssl.internal.enabled",
        "remove the key",
    ),
    (
        "secret-mounts-overwritten",
        {"deployments": etl_config(**{"kubernetes.secrets": "x:/y"})},
        (),
        "deployments[0].flinkConfiguration.kubernetes.secrets",
        "secretMounts",
    ),
    (
        "legacy-ssl-switch",
        {"deployments": etl_config(**{"security.ssl.enabled": "true"})},
        (),
        "deployments[0].flinkConfiguration.security.ssl.enabled",
        "remove the key",
    ),
    # TLS settings that do not fit the key type
    ("rsa-key-too-small", {"rsaBits": 1024}, (), "rsaBits", "pulumi config set rsaBits 3072"),
    (
        "ecdsa-curve-java-cannot-use",
        {"keyAlgorithm": "ECDSA", "ecdsaCurve": "P521"},
        (),
        "ecdsaCurve",
        "pulumi config set ecdsaCurve P256",
    ),
    (
        "rsa-suites-with-an-ecdsa-key",
        {
            "keyAlgorithm": "ECDSA",
            "deployments": etl_config(**{"security.ssl.algorithms": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}),
        },
        (),
        "deployments[0].flinkConfiguration.security.ssl.algorithms",
        "keyAlgorithm",
    ),
    ("protocol-too-old", {"tlsProtocol": "TLSv1.1"}, (), "tlsProtocol", "pulumi config set tlsProtocol TLSv1.3"),
    ("unsupported-key-type", {"keyAlgorithm": "ED25519"}, (), "keyAlgorithm", "pulumi config set keyAlgorithm RSA"),
    # addresses
    (
        "api-server-without-prefix",
        {"apiServerCidrs": ["10.0.0.1"]},
        (),
        "apiServerCidrs[0]",
        "kubectl get endpoints kubernetes",
    ),
    ("api-server-with-host-bits", {"apiServerCidrs": ["10.0.0.1/16"]}, (), "apiServerCidrs[0]", "apiServerCidrs[0]"),
    (
        "egress-to-a-host-name",
        {"deployments": deployment(egress=[{"cidr": "kafka.example.com", "ports": [9093]}])},
        (),
        "deployments[0].egress[0].cidr",
        "10.20.0.0/16",
    ),
    # names that collide with what Kubernetes, the operator or the stack derive from them
    (
        "deployment-named-as-anothers-rest-service",
        {"deployments": [*deployment(), {"name": "etl-rest", "image": IMAGE}]},
        (),
        "deployments[1].name",
        "'deployments[1].name' etl-rest-2",
    ),
    (
        "deployment-named-as-anothers-rest-api-host",
        {"deployments": [*deployment(), {"name": "etl-api", "image": IMAGE}]},
        (),
        "deployments[1].name",
        "not another's plus -rest, -ui or -api",
    ),
    (
        "deployment-named-as-anothers-ui-service",
        {"deployments": [{"name": "etl-ui", "image": IMAGE}, *deployment()]},
        (),
        "deployments[1].name",
        "'deployments[1].name' etl-2",
    ),
    (
        "deployments-deriving-the-same-configmap",
        {"deployments": [{"name": "flink-config-x", "image": IMAGE}, {"name": "x-cluster-config-map", "image": IMAGE}]},
        (),
        "deployments[1].name",
        "unique name",
    ),
    # certificate dates
    ("ca-validity-overflows-dates", {"caValidityHours": 99999999999}, (), "caValidityHours", "caValidityHours 43800"),
    ("cert-validity-beyond-twenty-years", {"certValidityHours": 175201}, (), "certValidityHours", "8760"),
    # images
    ("image-with-an-empty-tag", {"deployments": deployment(image="flink:")}, (), "deployments[0].image", "flink:2.2.1"),
    (
        "image-with-upper-case-path",
        {"deployments": deployment(image="Flink:2.2.1")},
        (),
        "deployments[0].image",
        "--path",
    ),
    ("proxy-image-with-an-empty-tag", {"proxyImage": "nginx:"}, (), "proxyImage", "proxyImage"),
    # resources the operator or Flink refuse
    (
        "jobmanager-memory-zero",
        {"deployments": deployment(jobManager={"memory": "0m"})},
        (),
        "deployments[0].jobManager.memory",
        "1600m",
    ),
    (
        "taskmanager-memory-below-flinks-minimum",
        {"deployments": deployment(taskManager={"memory": "512m"})},
        (),
        "deployments[0].taskManager.memory",
        "1728m",
    ),
    ("cpu-infinite", {"deployments": deployment(jobManager={"cpu": "inf"})}, (), "deployments[0].jobManager.cpu", "1"),
    (
        "standby-jobmanagers-without-ha",
        {"deployments": deployment(jobManager={"replicas": 2})},
        (),
        "deployments[0].jobManager.replicas",
        '["high-availability.type"]',
    ),
    (
        "mixed-case-kubernetes-ha-without-storage",
        {"deployments": etl_config(**{"high-availability.type": "Kubernetes"})},
        (),
        "deployments[0].flinkConfiguration.high-availability.type",
        "storageDir",
    ),
    (
        "ha-type-misspelled",
        {"deployments": etl_config(**{"high-availability.type": "kubernets"})},
        (),
        "deployments[0].flinkConfiguration.high-availability.type",
        "kubernetes",
    ),
    (
        "savepoint-upgrades-without-directories",
        {"deployments": deployment(job={"jarURI": "local:///opt/j.jar", "parallelism": 1, "upgradeMode": "savepoint"})},
        (),
        "deployments[0].job.upgradeMode",
        '["execution.checkpointing.savepoint-dir"]',
    ),
    (
        "rollback-without-ha",
        {"deployments": etl_config(**{"kubernetes.operator.deployment.rollback.enabled": "true"})},
        (),
        "deployments[0].flinkConfiguration.kubernetes.operator.deployment.rollback.enabled",
        "high-availability",
    ),
    # flinkConfiguration that weakens TLS, bypasses the stack, or that the operator forbids
    (
        "hostname-verification-off",
        {"deployments": etl_config(**{"security.ssl.verify-hostname": False})},
        (),
        "deployments[0].flinkConfiguration.security.ssl.verify-hostname",
        "remove the key",
    ),
    (
        "ssl-provider-openssl",
        {"deployments": etl_config(**{"security.ssl.provider": "OPENSSL"})},
        (),
        "deployments[0].flinkConfiguration.security.ssl.provider",
        "JDK",
    ),
    (
        "rest-certificate-pinning",
        {"deployments": etl_config(**{"security.ssl.rest.cert.fingerprint": "AB:CD"})},
        (),
        "deployments[0].flinkConfiguration.security.ssl.rest.cert.fingerprint",
        "remove the key",
    ),
    (
        "unscoped-ssl-truststore",
        {"deployments": etl_config(**{"security.ssl.truststore": "/tmp/t.p12"})},
        (),
        "deployments[0].flinkConfiguration.security.ssl.truststore",
        "remove the key",
    ),
    (
        "misspelled-ssl-option",
        {"deployments": etl_config(**{"security.ssl.rest.authentication-enable": "true"})},
        (),
        "deployments[0].flinkConfiguration.security.ssl.rest.authentication-enable",
        "security.ssl.handshake-timeout",
    ),
    (
        "rest-service-exposed-as-node-port",
        {"deployments": etl_config(**{"kubernetes.rest-service.exposed.type": "NodePort"})},
        (),
        "deployments[0].flinkConfiguration.kubernetes.rest-service.exposed.type",
        "ClusterIP",
    ),
    (
        "host-network",
        {"deployments": etl_config(**{"kubernetes.hostnetwork.enabled": "true"})},
        (),
        "deployments[0].flinkConfiguration.kubernetes.hostnetwork.enabled",
        "false",
    ),
    (
        "own-pod-template-file",
        {"deployments": etl_config(**{"kubernetes.pod-template-file.jobmanager": "/opt/jm.yaml"})},
        (),
        "deployments[0].flinkConfiguration.kubernetes.pod-template-file.jobmanager",
        "remove the key",
    ),
    (
        "jobmanager-service-account-option",
        {"deployments": etl_config(**{"kubernetes.jobmanager.service-account": "default"})},
        (),
        "deployments[0].flinkConfiguration.kubernetes.jobmanager.service-account",
        "remove the key",
    ),
    (
        "rest-port-moved",
        {"deployments": etl_config(**{"rest.port": "9091"})},
        (),
        "deployments[0].flinkConfiguration.rest.port",
        "remove the key",
    ),
    (
        "operator-forbidden-cluster-id",
        {"deployments": etl_config(**{"kubernetes.cluster-id": "other"})},
        (),
        "deployments[0].flinkConfiguration.kubernetes.cluster-id",
        "remove the key",
    ),
    # secretMounts on the stack's or the operator's paths
    (
        "secret-mount-with-a-trailing-slash-on-ours",
        {"deployments": deployment(secretMounts={"kafka": "/opt/flink/secrets/rest-tls/"})},
        (),
        "deployments[0].secretMounts.kafka",
        "/opt/flink/secrets/kafka",
    ),
    (
        "secret-mount-on-the-log-volume",
        {"deployments": deployment(secretMounts={"kafka": "/opt/flink/log"})},
        (),
        "deployments[0].secretMounts.kafka",
        "/opt/flink/secrets/kafka",
    ),
    (
        "secret-mount-inside-the-flink-config",
        {"deployments": deployment(secretMounts={"kafka": "/opt/flink/conf/kafka"})},
        (),
        "deployments[0].secretMounts.kafka",
        "/opt/flink/secrets/kafka",
    ),
    (
        "secret-mount-above-ours",
        {"deployments": deployment(secretMounts={"kafka": "/opt/flink"})},
        (),
        "deployments[0].secretMounts.kafka",
        "/opt/flink/secrets/kafka",
    ),
    (
        "secret-mounts-nested",
        {"deployments": deployment(secretMounts={"kafka": "/etc/kafka", "kafka-ca": "/etc/kafka/ca"})},
        (),
        "deployments[0].secretMounts.kafka-ca",
        "/opt/flink/secrets/kafka-ca",
    ),
    (
        "secret-name-too-long-for-flinks-volume-name",
        {"deployments": deployment(secretMounts={"s" * 60: "/etc/s"})},
        (),
        "deployments[0].secretMounts." + "s" * 60,
        f"pulumi config rm --path 'deployments[0].secretMounts.{'s' * 60}' && pulumi config set --path "
        f"'deployments[0].secretMounts.{'s' * 56}' /etc/s",
    ),
    # accounts and namespaces shared with other workloads
    (
        "service-account-default",
        {"deployments": deployment(serviceAccount="default")},
        (),
        "deployments[0].serviceAccount",
        "etl-flink",
    ),
    (
        "service-account-openshift-builder",
        {"deployments": deployment(serviceAccount="builder")},
        (),
        "deployments[0].serviceAccount",
        "remove the key",
    ),
    ("operator-in-flinks-namespace", {"operatorNamespace": "flink"}, (), "operatorNamespace", "flink-operator"),
    (
        "ingress-controller-in-flinks-namespace",
        {"ingressControllerNamespace": "flink"},
        (),
        "ingressControllerNamespace",
        "ingress-nginx",
    ),
]


@pytest.mark.parametrize("case, overrides, secret_keys, key, fix", CASES, ids=[c[0] for c in CASES])
def test_bad_config_names_key_and_fix_and_registers_nothing(case, overrides, secret_keys, key, fix):
    runner = StackRunner("dev")
    with pytest.raises(ConfigError) as raised:
        runner.up(secret_keys=secret_keys, **overrides)
    named = [problem for problem in raised.value.problems if problem.key == key]
    assert named, [str(p) for p in raised.value.problems]
    assert any(fix in problem.fix for problem in named), [str(p) for p in named]
    assert all(f"secure-flink:{key} = " in str(raised.value) and f"Fix: {p.fix}" in str(raised.value) for p in named)
    assert runner.engine._registered == [] and runner.engine.state == {}


def test_the_table_covers_at_least_thirty_configurations_across_every_kind_of_mistake():
    assert len(CASES) >= 30 and len({c[0] for c in CASES}) == len(CASES)


def test_a_good_configuration_of_the_same_shape_registers_the_stack():
    """The negative control: the dev stack itself, with a secret strong password, goes through."""
    result = StackRunner("dev").up(
        secret_keys=("uiUsers",), uiUsers=[{"name": "admin", "password": "Vq7#pL2!xR9@kT4$wZ8&"}]
    )
    assert len(result.resources) > 50
