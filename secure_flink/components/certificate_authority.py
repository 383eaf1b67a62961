"""CertificateAuthority: a self-signed CA, and the issuer of every certificate it signs."""

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_tls as tls

from secure_flink.components.pki import IssuedCertificate, identity_secret, private_key, signed_certificate
from secure_flink.domain import names
from secure_flink.domain.problems import ArgumentChecks
from secure_flink.domain.tls_policy import IssuancePolicy, key_usages

TYPE = "secureflink:index:CertificateAuthority"
MAX_COMMON_NAME_LENGTH = 64


@dataclass(frozen=True, kw_only=True)
class CertificateAuthorityArgs:
    common_name: str
    policy: IssuancePolicy
    """Its own key and lifetime (`ca_lifetime`), and those of every certificate it issues (`cert_lifetime`)."""

    def __post_init__(self) -> None:
        checks = ArgumentChecks(self)
        # RFC 5280's upper bound for a common name.
        if not 0 < len(self.common_name) <= MAX_COMMON_NAME_LENGTH:
            reason = f"must be 1 to {MAX_COMMON_NAME_LENGTH} characters"
            checks.check("common_name", self.common_name, reason, "common_name='acme-prod CA'")
        checks.raise_any()


class CertificateAuthority(pulumi.ComponentResource):
    """Creates: a private key and a self-signed CA certificate (path length 0: it signs leaves only).

    It is the issuer the other components are given: `issue_server_certificate`, `issue_client_certificate`
    and `server_tls_secret` create a key and a certificate it signs under its policy, named from the name
    the caller passes and parented where the caller's options say (so they belong to the caller).
    """

    cert_pem: pulumi.Output[str]
    """The CA certificate, PEM: what browsers, curl, proxies and the operator trust."""
    private_key_pem: pulumi.Output[str]
    """The CA key, PEM (secret)."""
    policy: IssuancePolicy

    def __init__(self, name: str, args: CertificateAuthorityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        self.policy = args.policy
        child = pulumi.ResourceOptions(parent=self)
        key = private_key(f"{name}-key", args.policy, child)
        cert = tls.SelfSignedCert(
            f"{name}-cert",
            private_key_pem=key.private_key_pem,
            subject=tls.SelfSignedCertSubjectArgs(
                common_name=args.common_name, organization=names.SUBJECT_ORGANIZATION
            ),
            is_ca_certificate=True,
            max_path_length=0,
            set_subject_key_id=True,
            allowed_uses=["cert_signing", "crl_signing", "digital_signature"],
            validity_period_hours=args.policy.ca_lifetime.validity_hours,
            early_renewal_hours=args.policy.ca_lifetime.early_renewal_hours,
            opts=child,
        )
        self.cert_pem = cert.cert_pem
        self.private_key_pem = pulumi.Output.secret(key.private_key_pem)
        self.register_outputs({"cert_pem": self.cert_pem, "private_key_pem": self.private_key_pem})

    def issue_server_certificate(
        self, name: str, *, dns_names: list[str], opts: pulumi.ResourceOptions, also_client: bool = False
    ) -> IssuedCertificate:
        """A new key (`<name>-key`) and a TLS server certificate for `dns_names` (the first that fits is the common
        name); `also_client` when its holder also presents it as a client (Flink's REST keystore under REST mTLS)."""
        return self._issue(
            name,
            common_name=names.certificate_common_name(dns_names),
            dns_names=dns_names,
            extended_usages=("server_auth", "client_auth") if also_client else ("server_auth",),
            opts=opts,
        )

    def issue_client_certificate(
        self, name: str, *, common_name: pulumi.Input[str], opts: pulumi.ResourceOptions
    ) -> IssuedCertificate:
        """A new key (`<name>-key`) and a certificate for TLS client authentication only."""
        return self._issue(name, common_name=common_name, dns_names=[], extended_usages=("client_auth",), opts=opts)

    def server_tls_secret(
        self, name: str, *, dns_names: list[str], metadata: Mapping[str, object], opts: pulumi.ResourceOptions
    ) -> k8s.core.v1.Secret:
        """A `kubernetes.io/tls` Secret `<name>` holding a new server certificate for `dns_names`."""
        key, cert = self.issue_server_certificate(name, dns_names=dns_names, opts=opts)
        return identity_secret(
            name,
            cert_pem=cert.cert_pem,
            ca_pem=self.cert_pem,
            key_pem=key.private_key_pem,
            secret_type="kubernetes.io/tls",
            metadata=metadata,
            opts=opts,
        )

    def _issue(
        self,
        name: str,
        *,
        common_name: pulumi.Input[str],
        dns_names: list[str],
        extended_usages: tuple[str, ...],
        opts: pulumi.ResourceOptions,
    ) -> IssuedCertificate:
        key = private_key(f"{name}-key", self.policy, opts)
        cert = signed_certificate(
            name,
            key=key,
            common_name=common_name,
            dns_names=dns_names,
            allowed_uses=key_usages(self.policy.key.algorithm, *extended_usages),
            ca_cert_pem=self.cert_pem,
            ca_private_key_pem=self.private_key_pem,
            lifetime=self.policy.cert_lifetime,
            opts=opts,
        )
        return key, cert
