"""secure-flink components: reusable ComponentResources and their Args."""

from components.certificate_authority import (
    CertificateAuthority,
    CertificateAuthorityArgs,
)
from components.flink_internal_tls import FlinkInternalTLS, FlinkInternalTLSArgs
from components.flink_operator_trust import FlinkOperatorTrust, FlinkOperatorTrustArgs
from components.network_baseline import NetworkBaseline, NetworkBaselineArgs
from components.rest_client_certificates import RestClientCertificates, RestClientCertificatesArgs
from components.rest_mtls_ingress import RestMTLSIngress, RestMTLSIngressArgs
from components.secure_flink_deployment import (
    SecureFlinkDeployment,
    SecureFlinkDeploymentArgs,
)
from components.secure_flink_ui import ProxyUser, SecureFlinkUI, SecureFlinkUIArgs

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
    "ProxyUser",
    "RestClientCertificates",
    "RestClientCertificatesArgs",
    "RestMTLSIngress",
    "RestMTLSIngressArgs",
    "SecureFlinkUI",
    "SecureFlinkUIArgs",
]
