"""FlinkInternalTLS: the TLS material and settings one FlinkDeployment needs for internal mTLS and REST TLS."""

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
import pulumi_tls as tls

from secure_flink.components.certificate_authority import CertificateAuthority, CertificateAuthorityArgs
from secure_flink.components.java_stores import JavaStores
from secure_flink.components.pki import private_key
from secure_flink.domain import names, tls_material
from secure_flink.domain.flink_conf import RestAuthentication, tls_flink_configuration
from secure_flink.domain.problems import ArgumentChecks
from secure_flink.domain.tls_policy import IssuancePolicy, TlsProtocol, key_usages

TYPE = "secureflink:index:FlinkInternalTLS"
PASSWORD_LENGTH = 32


@dataclass(frozen=True, kw_only=True)
class FlinkInternalTLSArgs:
    deployment_name: str
    """The FlinkDeployment (cluster id) this material belongs to; it fixes the REST Service's DNS names."""
    namespace: str
    policy: IssuancePolicy
    """Keys, the lifetimes of the REST CA and the certificates, and the rotation of keys, certificates and
    store passwords."""
    protocol: TlsProtocol
    rest_authentication: RestAuthentication = RestAuthentication.MTLS
    rest_client_identities: Sequence[str] = ()
    """Callers of the REST API that need a client certificate under REST mTLS (e.g. `ui-proxy`)."""
    rest_caller_ca_pems: Sequence[pulumi.Input[str]] = ()
    """CAs that each sign only callers of every deployment (the operator's client CA): REST mTLS admits them."""
    rest_allowed_certificates: Sequence[pulumi.Input[str]] = ()
    """Certificates (PEM) from outside the deployment that REST mTLS admits one by one: the issued REST clients'."""

    def __post_init__(self) -> None:
        checks = ArgumentChecks(self)
        name = self.deployment_name
        checks.check("deployment_name", name, names.deployment_name_problem(name), "deployment_name='etl'")
        checks.check("namespace", self.namespace, names.namespace_problem(self.namespace), "namespace='flink'")
        identities = list(self.rest_client_identities)
        free = names.free_label("ui-proxy", identities)
        for index, identity in enumerate(identities):
            field = f"rest_client_identities[{index}]"
            checks.check(field, identity, names.namespace_problem(identity), f"{field}='{free}'")
            if identities.index(identity) != index:
                checks.check(field, identity, "is listed twice", "list every caller once")
        checks.raise_any()


class FlinkInternalTLS(pulumi.ComponentResource):
    """Creates, for one FlinkDeployment:

    - internal mTLS: a key and a dedicated self-signed certificate; keystore and a truststore that
      trusts only that certificate, so no other deployment's material can join this cluster;
    - REST TLS: a REST CA of the deployment's own, and from it a key and certificate for every name of
      the REST Service, and under REST mTLS the client identities of its callers; keystore and a
      truststore that admits this deployment's callers only (and the operator's CA, and the issued
      REST clients one by one), so no identity issued for another deployment gets in;
    - a random password per store pair, and Secrets for the stores and the passwords.

    The stores are encoded once and kept in state (secure_flink/components/java_stores.py): unchanged keys,
    certificates and passwords give byte-identical Secrets, so `pulumi up` on an unchanged stack
    changes nothing and restarts nothing, while any new key, certificate or password gives new stores.
    """

    flink_configuration: pulumi.Output[dict[str, str]]
    """flinkConfiguration fragment: internal and REST SSL keys, protocol and suites (secret: holds passwords)."""
    secret_mounts: pulumi.Output[dict[str, str]]
    """Secret name -> mount path, for `kubernetes.secrets`."""
    rest_ca_pem: pulumi.Output[str]
    """The deployment's REST CA, which signed its REST certificate: what its REST clients trust."""
    rest_client_identities: dict[str, tuple[pulumi.Output[str], pulumi.Output[str]]]
    """Caller -> (certificate PEM, key PEM (secret)) to present to this REST API under REST mTLS."""

    def __init__(self, name: str, args: FlinkInternalTLSArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = names.labels(args.deployment_name, "flink-tls")
        internal_secret, internal_password = self._internal(name, args, labels, child)
        rest_ca = CertificateAuthority(
            f"{name}-rest-ca",
            CertificateAuthorityArgs(
                common_name=names.authority_common_name(args.deployment_name, "REST CA"), policy=args.policy
            ),
            opts=child,
        )
        self.rest_client_identities = self._identities(name, args, rest_ca, child)
        rest_secret, rest_password = self._rest(name, args, rest_ca, labels, child)
        k8s.core.v1.Secret(
            f"{name}-passwords",
            metadata={"namespace": args.namespace, "labels": labels},
            type="Opaque",
            string_data={
                "internal-store-password": internal_password.result,
                "rest-store-password": rest_password.result,
            },
            opts=child,
        )

        self.flink_configuration = pulumi.Output.secret(
            pulumi.Output.all(internal_password.result, rest_password.result).apply(
                lambda p: tls_flink_configuration(
                    internal_password=p[0],
                    rest_password=p[1],
                    key_algorithm=args.policy.key.algorithm,
                    protocol=args.protocol,
                    rest_authentication=args.rest_authentication,
                )
            )
        )
        self.secret_mounts = pulumi.Output.all(internal_secret.metadata.name, rest_secret.metadata.name).apply(
            lambda n: {n[0]: names.INTERNAL_TLS_MOUNT, n[1]: names.REST_TLS_MOUNT}
        )
        self.rest_ca_pem = rest_ca.cert_pem
        self.register_outputs(
            {
                "flink_configuration": self.flink_configuration,
                "secret_mounts": self.secret_mounts,
                "rest_ca_pem": self.rest_ca_pem,
            }
        )

    @staticmethod
    def _internal(
        name: str, args: FlinkInternalTLSArgs, labels: dict[str, str], child: pulumi.ResourceOptions
    ) -> tuple[k8s.core.v1.Secret, random.RandomPassword]:
        """The cluster's own trust domain: one self-signed certificate, trusted by nothing else."""
        deployment = args.deployment_name
        key = private_key(f"{name}-internal-key", args.policy, child)
        cert = tls.SelfSignedCert(
            f"{name}-internal-cert",
            private_key_pem=key.private_key_pem,
            subject=tls.SelfSignedCertSubjectArgs(
                common_name=f"{deployment}-internal", organization=names.SUBJECT_ORGANIZATION
            ),
            dns_names=names.internal_dns_names(deployment, args.namespace),
            allowed_uses=key_usages(args.policy.key.algorithm, "server_auth", "client_auth"),
            validity_period_hours=args.policy.cert_lifetime.validity_hours,
            early_renewal_hours=args.policy.cert_lifetime.early_renewal_hours,
            opts=child,
        )
        password = _store_password(f"{name}-internal-password", args.policy, child)
        stores = JavaStores(
            f"{name}-internal-stores",
            stores=pulumi.Output.all(key.private_key_pem, cert.cert_pem).apply(
                lambda v: tls_material.internal_stores(key_pem=v[0], cert_pem=v[1], alias=deployment)
            ),
            password=password.result,
            opts=child,
        )
        secret = k8s.core.v1.Secret(
            f"{name}-internal",
            metadata={"namespace": args.namespace, "labels": labels},
            type="Opaque",
            data=stores.files,
            opts=child,
        )
        return secret, password

    @staticmethod
    def _identities(
        name: str, args: FlinkInternalTLSArgs, rest_ca: CertificateAuthority, child: pulumi.ResourceOptions
    ) -> dict[str, tuple[pulumi.Output[str], pulumi.Output[str]]]:
        if args.rest_authentication is not RestAuthentication.MTLS:
            return {}
        identities: dict[str, tuple[pulumi.Output[str], pulumi.Output[str]]] = {}
        for caller in args.rest_client_identities:
            key, cert = rest_ca.issue_client_certificate(
                f"{name}-rest-client-{caller}", common_name=f"{args.deployment_name}-{caller}", opts=child
            )
            identities[caller] = (cert.cert_pem, pulumi.Output.secret(key.private_key_pem))
        return identities

    def _rest(
        self,
        name: str,
        args: FlinkInternalTLSArgs,
        rest_ca: CertificateAuthority,
        labels: dict[str, str],
        child: pulumi.ResourceOptions,
    ) -> tuple[k8s.core.v1.Secret, random.RandomPassword]:
        """The REST endpoint's server identity, signed by the deployment's REST CA for every name of its
        Service. Under REST mTLS, pods present it as their client certificate too, and the truststore
        admits what the REST CA and the caller CAs signed, plus exactly the allowed certificates."""
        mtls = args.rest_authentication is RestAuthentication.MTLS
        allowed = list(args.rest_allowed_certificates) if mtls else []
        caller_cas = list(args.rest_caller_ca_pems) if mtls else []
        key, cert = rest_ca.issue_server_certificate(
            f"{name}-rest",
            dns_names=names.rest_dns_names(args.deployment_name, args.namespace),
            opts=child,
            also_client=mtls,
        )
        password = _store_password(f"{name}-rest-password", args.policy, child)
        alias = names.rest_service(args.deployment_name)
        stores = JavaStores(
            f"{name}-rest-stores",
            stores=pulumi.Output.all(
                key.private_key_pem,
                cert.cert_pem,
                rest_ca.cert_pem,
                pulumi.Output.all(*caller_cas),
                pulumi.Output.all(*allowed),
            ).apply(
                lambda v: tls_material.rest_stores(
                    key_pem=v[0],
                    cert_pem=v[1],
                    ca_pem=v[2],
                    alias=alias,
                    caller_ca_pems=list(v[3]),
                    allowed_client_pems=list(v[4]),
                )
            ),
            password=password.result,
            opts=child,
        )
        secret = k8s.core.v1.Secret(
            f"{name}-rest",
            metadata={"namespace": args.namespace, "labels": labels},
            type="Opaque",
            # The REST CA in PEM too: the pods' own REST clients (the CLI) verify the server with it.
            data=pulumi.Output.all(stores.files, rest_ca.cert_pem).apply(
                lambda v: {**v[0], names.CA_CERT_FILE: tls_material.b64(v[1])}
            ),
            opts=child,
        )
        return secret, password


def _store_password(name: str, policy: IssuancePolicy, opts: pulumi.ResourceOptions) -> random.RandomPassword:
    # Letters and digits only: the value lands unquoted in Flink's YAML configuration.
    return random.RandomPassword(name, length=PASSWORD_LENGTH, special=False, keepers=policy.keepers, opts=opts)
