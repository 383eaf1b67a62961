"""FlinkOperatorTrust: what the Flink Kubernetes Operator needs to call REST endpoints over TLS."""

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from secure_flink.components.certificate_authority import CertificateAuthority
from secure_flink.components.java_stores import JavaStores
from secure_flink.domain import names, tls_material
from secure_flink.domain.problems import ArgumentChecks

TYPE = "secureflink:index:FlinkOperatorTrust"


@dataclass(frozen=True, kw_only=True)
class FlinkOperatorTrustArgs:
    operator_namespace: str
    client_ca: CertificateAuthority
    """Signs the operator's client certificate and nothing else: every deployment under REST mTLS trusts it.
    Its policy also rotates the stores' password."""
    rest_ca_pems: Mapping[str, pulumi.Input[str]]
    """Deployment -> its REST CA: what the operator verifies each REST endpoint against."""

    def __post_init__(self) -> None:
        checks = ArgumentChecks(self)
        operator = self.operator_namespace
        fix = "operator_namespace='flink-operator'"
        checks.check("operator_namespace", operator, names.namespace_problem(operator), fix)
        checks.raise_any()


class FlinkOperatorTrust(pulumi.ComponentResource):
    """Creates, in the operator's namespace, the two Secrets the operator's Helm chart mounts with `tls.create=true`:

    - `flink-operator-cert`: `truststore.jks` trusting every deployment's REST CA, and `keystore.jks` with
      the operator's own client certificate, which it presents to deployments with REST mTLS (the chart's
      fixed file names; the content is PKCS12, which Java's keystore loader detects). The operator reads
      both files whenever it opens a REST client (AbstractFlinkService.getOperatorRestConfig), so a new
      deployment's CA reaches it once the kubelet has updated the mounted Secret;
    - `operator-certificate-password`: its password (`OPERATOR_KEYSTORE_PASSWORD`, which the operator
      also uses as the truststore password).

    Without them the operator cannot reach a REST endpoint that only speaks TLS, and FlinkDeployments
    never become READY.
    """

    truststore_secret: k8s.core.v1.Secret

    def __init__(self, name: str, args: FlinkOperatorTrustArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        password = random.RandomPassword(
            f"{name}-password", length=32, special=False, keepers=args.client_ca.policy.keepers, opts=child
        )
        labels = names.labels("flink-operator", "operator-trust")
        client_key, client_cert = args.client_ca.issue_client_certificate(
            f"{name}-client", common_name="flink-kubernetes-operator", opts=child
        )
        stores = JavaStores(
            f"{name}-stores",
            stores=pulumi.Output.all(
                pulumi.Output.all(**args.rest_ca_pems),
                client_key.private_key_pem,
                client_cert.cert_pem,
                args.client_ca.cert_pem,
            ).apply(
                lambda v: tls_material.operator_stores(
                    rest_ca_pems=v[0], client_key_pem=v[1], client_cert_pem=v[2], client_ca_pem=v[3]
                )
            ),
            password=password.result,
            opts=child,
        )
        self.truststore_secret = k8s.core.v1.Secret(
            f"{name}-truststore",
            metadata={"name": names.OPERATOR_TLS_SECRET, "namespace": args.operator_namespace, "labels": labels},
            type="Opaque",
            data=stores.files,
            opts=child,
        )
        k8s.core.v1.Secret(
            f"{name}-password-secret",
            metadata={"name": names.OPERATOR_PASSWORD_SECRET, "namespace": args.operator_namespace, "labels": labels},
            type="Opaque",
            string_data={"password": password.result},
            opts=child,
        )
        self.register_outputs({"truststore_secret": self.truststore_secret.metadata.name})
