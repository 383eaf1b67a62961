"""CertificateAuthority: a self-signed CA whose certificate clients are given to trust."""

from dataclasses import dataclass

import pulumi
import pulumi_tls as tls

from secure_flink.components.pki import private_key
from secure_flink.domain.tls_policy import CertificateLifetime, KeySpec

TYPE = "secureflink:index:CertificateAuthority"


@dataclass(frozen=True, kw_only=True)
class CertificateAuthorityArgs:
    common_name: str
    key: KeySpec
    lifetime: CertificateLifetime
    rotation: str
    """A new value issues a new CA key and certificate (and so every certificate it signs)."""


class CertificateAuthority(pulumi.ComponentResource):
    """Creates: a private key and a self-signed CA certificate (path length 0: it signs leaves only)."""

    cert_pem: pulumi.Output[str]
    """The CA certificate, PEM: what browsers, curl, proxies and the operator trust."""
    private_key_pem: pulumi.Output[str]
    """The CA key, PEM (secret)."""

    def __init__(self, name: str, args: CertificateAuthorityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        key = private_key(f"{name}-key", args.key, args.rotation, child)
        cert = tls.SelfSignedCert(
            f"{name}-cert",
            private_key_pem=key.private_key_pem,
            subject=tls.SelfSignedCertSubjectArgs(common_name=args.common_name, organization="secure-flink"),
            is_ca_certificate=True,
            max_path_length=0,
            set_subject_key_id=True,
            allowed_uses=["cert_signing", "crl_signing", "digital_signature"],
            validity_period_hours=args.lifetime.validity_hours,
            early_renewal_hours=args.lifetime.early_renewal_hours,
            opts=child,
        )
        self.cert_pem = cert.cert_pem
        self.private_key_pem = pulumi.Output.secret(key.private_key_pem)
        self.register_outputs({"cert_pem": self.cert_pem, "private_key_pem": self.private_key_pem})
