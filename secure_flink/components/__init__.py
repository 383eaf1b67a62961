"""secure-flink components: reusable ComponentResources and their Args."""

from secure_flink.components.certificate_authority import (
    CertificateAuthority,
    CertificateAuthorityArgs,
)
from secure_flink.components.flink_internal_tls import FlinkInternalTLS, FlinkInternalTLSArgs
from secure_flink.components.flink_operator_trust import FlinkOperatorTrust, FlinkOperatorTrustArgs
from secure_flink.components.network_baseline import NetworkBaseline, NetworkBaselineArgs
from secure_flink.components.rest_client_certificates import RestClientCertificates, RestClientCertificatesArgs
from secure_flink.components.rest_mtls_ingress import RestMTLSIngress, RestMTLSIngressArgs
from secure_flink.components.secure_flink_deployment import (
    SecureFlinkDeployment,
    SecureFlinkDeploymentArgs,
)
from secure_flink.components.secure_flink_platform import SecureFlinkPlatform, SecureFlinkPlatformArgs
from secure_flink.components.secure_flink_ui import ProxyUser, SecureFlinkUI, SecureFlinkUIArgs

__all__ = [
    "CertificateAuthority",
    "CertificateAuthorityArgs",
    "FlinkInternalTLS",
    "FlinkInternalTLSArgs",
    "FlinkOperatorTrust",
    "FlinkOperatorTrustArgs",
    "NetworkBaseline",
    "NetworkBaselineArgs",
    "SecureFlinkDeployment",
    "SecureFlinkDeploymentArgs",
    "SecureFlinkPlatform",
    "SecureFlinkPlatformArgs",
    "ProxyUser",
    "RestClientCertificates",
    "RestClientCertificatesArgs",
    "RestMTLSIngress",
    "RestMTLSIngressArgs",
    "SecureFlinkUI",
    "SecureFlinkUIArgs",
]
