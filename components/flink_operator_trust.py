"""FlinkOperatorTrust: what the Flink Kubernetes Operator needs to call REST endpoints over TLS."""

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.render import names, tls_material

TYPE = "secureflink:index:FlinkOperatorTrust"


@dataclass(frozen=True, kw_only=True)
class FlinkOperatorTrustArgs:
    operator_namespace: str
    ca_cert_pem: pulumi.Input[str]
    """The CA that signs every REST certificate of the stack."""
    rotation: str


class FlinkOperatorTrust(pulumi.ComponentResource):
    """Creates, in the operator's namespace, the two Secrets the operator's Helm chart mounts with `tls.create=true`:

    - `flink-operator-cert`: `truststore.jks` trusting the stack CA (the chart's fixed file name; the
      content is PKCS12, which Java's keystore loader detects);
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
            f"{name}-password", length=32, special=False, keepers={"rotation": args.rotation}, opts=child
        )
        labels = names.labels("flink-operator", "operator-trust")
        self.truststore_secret = k8s.core.v1.Secret(
            f"{name}-truststore",
            metadata={"name": names.OPERATOR_TLS_SECRET, "namespace": args.operator_namespace, "labels": labels},
            type="Opaque",
            data=pulumi.Output.all(args.ca_cert_pem, password.result).apply(
                lambda v: tls_material.operator_truststore_files(ca_pem=v[0], password=v[1])
            ),
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
