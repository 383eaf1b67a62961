"""PKI building blocks for the components: keys under the issuance policy, CA-signed certificates, and the Secrets
that hold a certificate with its key. Issuing goes through a CertificateAuthority; these are its parts."""

from collections.abc import Mapping

import pulumi
import pulumi_kubernetes as k8s
import pulumi_tls as tls

from secure_flink.domain import names, tls_material
from secure_flink.domain.tls_policy import CertificateLifetime, IssuancePolicy, KeyAlgorithm

IssuedCertificate = tuple[tls.PrivateKey, tls.LocallySignedCert]
"""A new key and the certificate a CA signed for it."""


def private_key(name: str, policy: IssuancePolicy, opts: pulumi.ResourceOptions) -> tls.PrivateKey:
    """A new key of the policy's kind, drawn again whenever the policy's rotation changes.

    pulumi-tls does not reliably re-issue on `early_renewal_hours` (pulumi-tls #39), so rotation is
    an explicit trigger; replacing the key cascades through CSR, certificate and keystores.
    """
    key = policy.key
    rsa = key.algorithm is KeyAlgorithm.RSA
    return tls.PrivateKey(
        name,
        algorithm=key.algorithm.value,
        # Only the algorithm's own parameter; None is what an argument left out passes.
        rsa_bits=key.rsa_bits if rsa else None,
        ecdsa_curve=None if rsa else key.ecdsa_curve,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(replacement_trigger=policy.rotation)),
    )


def signed_certificate(
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
    """A leaf certificate for `key` (CSR `<name>-csr`, certificate `<name>-cert`), signed by the given CA."""
    request = tls.CertRequest(
        f"{name}-csr",
        private_key_pem=key.private_key_pem,
        subject=tls.CertRequestSubjectArgs(common_name=common_name, organization=names.SUBJECT_ORGANIZATION),
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


def identity_secret(
    name: str,
    *,
    cert_pem: pulumi.Input[str],
    ca_pem: pulumi.Input[str],
    key_pem: pulumi.Input[str],
    secret_type: str,
    metadata: Mapping[str, object],
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
