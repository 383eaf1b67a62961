"""PKI building blocks shared by the components: keys, CA-signed certificates, and TLS Secrets holding them."""

from typing import TYPE_CHECKING

import pulumi
import pulumi_kubernetes as k8s
import pulumi_tls as tls

from secure_flink.domain import names, tls_material
from secure_flink.domain.tls_policy import CertificateLifetime, KeyAlgorithm, KeySpec, key_usages

if TYPE_CHECKING:
    from secure_flink.components.certificate_authority import CertificateAuthority


def private_key(name: str, key: KeySpec, rotation: str, opts: pulumi.ResourceOptions) -> tls.PrivateKey:
    """A new key whenever `rotation` changes.

    pulumi-tls does not reliably re-issue on `early_renewal_hours` (pulumi-tls #39), so rotation is
    an explicit trigger; replacing the key cascades through CSR, certificate and keystores.
    """
    algorithm_options: dict[str, object] = (
        {"rsa_bits": key.rsa_bits} if key.algorithm is KeyAlgorithm.RSA else {"ecdsa_curve": key.ecdsa_curve}
    )
    return tls.PrivateKey(
        name,
        algorithm=key.algorithm.value,
        **algorithm_options,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(replacement_trigger=rotation)),
    )


def issue_certificate(
    name: str,
    *,
    key: tls.PrivateKey,
    common_name: pulumi.Input[str],
    dns_names: list[str],
    allowed_uses: list[str],
    ca_cert_pem: pulumi.Input[str],
    ca_private_key_pem: pulumi.Input[str],
    lifetime: CertificateLifetime,
    opts: pulumi.ResourceOptions,
) -> tls.LocallySignedCert:
    """A leaf certificate for `key`, signed by the given CA."""
    request = tls.CertRequest(
        f"{name}-csr",
        private_key_pem=key.private_key_pem,
        subject=tls.CertRequestSubjectArgs(common_name=common_name, organization="secure-flink"),
        dns_names=dns_names,
        opts=opts,
    )
    return tls.LocallySignedCert(
        f"{name}-cert",
        cert_request_pem=request.cert_request_pem,
        ca_cert_pem=ca_cert_pem,
        ca_private_key_pem=ca_private_key_pem,
        validity_period_hours=lifetime.validity_hours,
        early_renewal_hours=lifetime.early_renewal_hours,
        allowed_uses=allowed_uses,
        opts=opts,
    )


def _signed_leaf(
    name: str,
    *,
    key_spec: KeySpec,
    rotation: str,
    common_name: pulumi.Input[str],
    dns_names: list[str],
    extended_usages: tuple[str, ...],
    ca_cert_pem: pulumi.Input[str],
    ca_private_key_pem: pulumi.Input[str],
    lifetime: CertificateLifetime,
    opts: pulumi.ResourceOptions,
) -> tuple[tls.PrivateKey, tls.LocallySignedCert]:
    key = private_key(f"{name}-key", key_spec, rotation, opts)
    cert = issue_certificate(
        name,
        key=key,
        common_name=common_name,
        dns_names=dns_names,
        allowed_uses=key_usages(key_spec.algorithm, *extended_usages),
        ca_cert_pem=ca_cert_pem,
        ca_private_key_pem=ca_private_key_pem,
        lifetime=lifetime,
        opts=opts,
    )
    return key, cert


def server_certificate(
    name: str,
    *,
    key_spec: KeySpec,
    rotation: str,
    dns_names: list[str],
    ca_cert_pem: pulumi.Input[str],
    ca_private_key_pem: pulumi.Input[str],
    lifetime: CertificateLifetime,
    opts: pulumi.ResourceOptions,
    also_client: bool = False,
) -> tuple[tls.PrivateKey, tls.LocallySignedCert]:
    """A new key and a CA-signed TLS server certificate for `dns_names` (the first that fits is the common name);
    `also_client` when its holder also presents it as a client (Flink's REST keystore under REST mTLS)."""
    return _signed_leaf(
        name,
        key_spec=key_spec,
        rotation=rotation,
        common_name=names.certificate_common_name(dns_names),
        dns_names=dns_names,
        extended_usages=("server_auth", "client_auth") if also_client else ("server_auth",),
        ca_cert_pem=ca_cert_pem,
        ca_private_key_pem=ca_private_key_pem,
        lifetime=lifetime,
        opts=opts,
    )


def client_certificate(
    name: str,
    *,
    key_spec: KeySpec,
    rotation: str,
    common_name: pulumi.Input[str],
    ca_cert_pem: pulumi.Input[str],
    ca_private_key_pem: pulumi.Input[str],
    lifetime: CertificateLifetime,
    opts: pulumi.ResourceOptions,
) -> tuple[tls.PrivateKey, tls.LocallySignedCert]:
    """A new key and a CA-signed certificate for TLS client authentication only."""
    return _signed_leaf(
        name,
        key_spec=key_spec,
        rotation=rotation,
        common_name=common_name,
        dns_names=[],
        extended_usages=("client_auth",),
        ca_cert_pem=ca_cert_pem,
        ca_private_key_pem=ca_private_key_pem,
        lifetime=lifetime,
        opts=opts,
    )


def server_tls_secret(
    name: str,
    *,
    key_spec: KeySpec,
    rotation: str,
    dns_names: list[str],
    ca: "CertificateAuthority",
    lifetime: CertificateLifetime,
    metadata: dict,
    opts: pulumi.ResourceOptions,
) -> k8s.core.v1.Secret:
    """A `kubernetes.io/tls` Secret holding a new server certificate for `dns_names`, signed by `ca`."""
    key, cert = server_certificate(
        name,
        key_spec=key_spec,
        rotation=rotation,
        dns_names=dns_names,
        ca_cert_pem=ca.cert_pem,
        ca_private_key_pem=ca.private_key_pem,
        lifetime=lifetime,
        opts=opts,
    )
    return identity_secret(
        name,
        cert_pem=cert.cert_pem,
        ca_pem=ca.cert_pem,
        key_pem=key.private_key_pem,
        secret_type="kubernetes.io/tls",
        metadata=metadata,
        opts=opts,
    )


def identity_secret(
    name: str,
    *,
    cert_pem: pulumi.Input[str],
    ca_pem: pulumi.Input[str],
    key_pem: pulumi.Input[str],
    secret_type: str,
    metadata: dict,
    opts: pulumi.ResourceOptions,
) -> k8s.core.v1.Secret:
    """A Secret with a certificate and its CA (`tls.crt`), its key (`tls.key`) and the CA (`ca.crt`): what nginx
    serves or presents, and what ingress-nginx reads from a `proxy-ssl-secret`."""
    return k8s.core.v1.Secret(
        name,
        metadata=metadata,
        type=secret_type,
        data=pulumi.Output.all(cert_pem, ca_pem, key_pem).apply(
            lambda v: tls_material.tls_secret_files(cert_pem=v[0], ca_pem=v[1], key_pem=v[2])
        ),
        opts=opts,
    )
