"""RestClientCertificates: a client CA dedicated to REST clients, and one certificate per named client."""

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_random as random
import pulumi_tls as tls

from secure_flink.components.certificate_authority import CertificateAuthority, CertificateAuthorityArgs
from secure_flink.components.java_stores import JavaStores
from secure_flink.domain import names, tls_material
from secure_flink.domain.problems import ArgumentChecks
from secure_flink.domain.tls_policy import IssuancePolicy

TYPE = "secureflink:index:RestClientCertificates"
PKCS12_PASSWORD_LENGTH = 24
PKCS12_FILE = "client.p12"


@dataclass(frozen=True, kw_only=True)
class RestClientCertificatesArgs:
    clients: Sequence[str]
    """Client names (CI bots, operators' laptops). Removing one retires its certificate everywhere that
    checks the allow-list outputs; adding one issues exactly that client's certificate."""
    policy: IssuancePolicy
    """Of the client CA and the certificates; its rotation also draws new certificate ids and PKCS12 passwords."""

    def __post_init__(self) -> None:
        checks = ArgumentChecks(self)
        clients = list(self.clients)
        fixed = names.unique_names(clients, valid=names.is_client_name, free=names.free_client_name)
        for index, client in enumerate(clients):
            field = f"clients[{index}]"
            checks.check(field, client, names.client_name_problem(client), f"{field}='{fixed[index]}'")
            if clients.index(client) != index:
                checks.check(field, client, "is listed twice", f"{field}='{fixed[index]}'")
        checks.raise_any()


class RestClientCertificates(pulumi.ComponentResource):
    """Creates a client CA (its own trust domain: it signs client certificates and nothing else) and,
    per client, a key, a certificate whose only extended usage is client authentication, and a
    password-protected PKCS12.

    A signed certificate stays valid until it expires, so removal is enforced by allow-lists the
    entry points take from these outputs: `fingerprints` (exact certificates, for nginx),
    `common_names` (for ingress-nginx's `auth-tls-match-cn`) and `certificates` (for Flink's truststore).
    """

    ca_cert_pem: pulumi.Output[str]
    certificates: dict[str, pulumi.Output[str]]
    """Client name -> certificate (PEM)."""
    fingerprints: pulumi.Output[dict[str, str]]
    """Client name -> SHA-1 fingerprint, as nginx's `$ssl_client_fingerprint` prints it."""
    common_names: dict[str, pulumi.Output[str]]
    bundles: pulumi.Output[dict[str, dict[str, str]]]
    """Client name -> {certificate, privateKey, caCertificate, pkcs12 (base64), pkcs12Password} (secret)."""

    def __init__(self, name: str, args: RestClientCertificatesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ca = CertificateAuthority(
            f"{name}-ca",
            CertificateAuthorityArgs(
                common_name=names.authority_common_name(pulumi.get_stack(), "REST client CA"), policy=args.policy
            ),
            opts=child,
        )
        self.ca_cert_pem = ca.cert_pem
        self.certificates, self.common_names, bundles = {}, {}, {}
        for client in args.clients:
            cert, key, common_name = self._client(name, client, ca, child)
            self.certificates[client] = cert.cert_pem
            self.common_names[client] = common_name
            bundles[client] = self._bundle(name, client, cert, key, ca, child)
        self.fingerprints = pulumi.Output.all(**self.certificates).apply(
            lambda certs: {client: tls_material.sha1_fingerprint(pem) for client, pem in certs.items()}
        )
        self.bundles = pulumi.Output.secret(pulumi.Output.all(**bundles))
        self.register_outputs({"ca_cert_pem": self.ca_cert_pem, "fingerprints": self.fingerprints})

    @staticmethod
    def _client(
        name: str,
        client: str,
        ca: CertificateAuthority,
        child: pulumi.ResourceOptions,
    ) -> tuple[tls.LocallySignedCert, tls.PrivateKey, pulumi.Output[str]]:
        issuance = random.RandomId(f"{name}-{client}-id", byte_length=4, keepers=ca.policy.keepers, opts=child)
        common_name = issuance.hex.apply(lambda hex_id: names.client_common_name(client, hex_id))
        key, cert = ca.issue_client_certificate(f"{name}-{client}", common_name=common_name, opts=child)
        return cert, key, common_name

    @staticmethod
    def _bundle(
        name: str,
        client: str,
        cert: tls.LocallySignedCert,
        key: tls.PrivateKey,
        ca: CertificateAuthority,
        child: pulumi.ResourceOptions,
    ) -> pulumi.Output[dict[str, str]]:
        password = random.RandomPassword(
            f"{name}-{client}-pkcs12-password",
            length=PKCS12_PASSWORD_LENGTH,
            special=False,
            keepers=ca.policy.keepers,
            opts=child,
        )
        pkcs12 = JavaStores(
            f"{name}-{client}-pkcs12",
            stores=pulumi.Output.all(key_pem=key.private_key_pem, cert_pem=cert.cert_pem, ca_pem=ca.cert_pem).apply(
                lambda pems: {PKCS12_FILE: tls_material.client_store(**pems, alias=client)}
            ),
            password=password.result,
            opts=child,
        )
        return pulumi.Output.all(cert.cert_pem, key.private_key_pem, ca.cert_pem, pkcs12.files, password.result).apply(
            lambda v: {
                "certificate": v[0],
                "privateKey": v[1],
                "caCertificate": v[2],
                "pkcs12": v[3][PKCS12_FILE],
                "pkcs12Password": v[4],
            }
        )
