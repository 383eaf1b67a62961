"""secure-flink: one stack per environment; reads the settings, composes the components, exports outputs."""

import pulumi

from components import (
    CertificateAuthority,
    CertificateAuthorityArgs,
    FlinkInternalTLS,
    FlinkInternalTLSArgs,
    FlinkOperatorTrust,
    FlinkOperatorTrustArgs,
    SecureFlinkDeployment,
    SecureFlinkDeploymentArgs,
)
from components.render import names
from settings import read_settings

settings = read_settings(pulumi.Config())
tls_settings = settings.tls

ca = CertificateAuthority(
    "stack-ca",
    CertificateAuthorityArgs(
        common_name=f"secure-flink {pulumi.get_stack()} CA",
        key=tls_settings.key,
        lifetime=tls_settings.ca_lifetime,
        rotation=tls_settings.rotation,
    ),
)
FlinkOperatorTrust(
    "operator-trust",
    FlinkOperatorTrustArgs(
        operator_namespace=settings.operator_namespace, ca_cert_pem=ca.cert_pem, rotation=tls_settings.rotation
    ),
)

for deployment in settings.deployments:
    flink_tls = FlinkInternalTLS(
        f"{deployment.name}-tls",
        FlinkInternalTLSArgs(
            deployment_name=deployment.name,
            namespace=settings.namespace,
            ca=ca,
            key=tls_settings.key,
            protocol=tls_settings.protocol,
            lifetime=tls_settings.cert_lifetime,
            rotation=tls_settings.rotation,
        ),
    )
    SecureFlinkDeployment(
        deployment.name,
        SecureFlinkDeploymentArgs(
            namespace=settings.namespace,
            image=deployment.image,
            flink_version=deployment.flink_version,
            mode=deployment.mode,
            service_account=deployment.service_account,
            job_manager=deployment.job_manager,
            task_manager=deployment.task_manager,
            job=deployment.job,
            configuration_fragments=[flink_tls.flink_configuration],
            secret_mounts=[flink_tls.secret_mounts, deployment.secret_mounts],
            user_configuration=deployment.flink_configuration,
        ),
    )

pulumi.export("caCertificate", ca.cert_pem)
pulumi.export("platform", settings.platform.value)
pulumi.export(
    "restEndpoints",
    {d.name: names.rest_url(d.name, settings.namespace) for d in settings.deployments},
)
