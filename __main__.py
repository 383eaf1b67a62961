"""secure-flink: one stack per environment; reads the settings, composes the components, exports outputs."""

import pulumi

from secure_flink.components import (
    CertificateAuthority,
    CertificateAuthorityArgs,
    FlinkInternalTLS,
    FlinkInternalTLSArgs,
    FlinkOperatorTrust,
    FlinkOperatorTrustArgs,
    NetworkBaseline,
    NetworkBaselineArgs,
    ProxyUser,
    RestClientCertificates,
    RestClientCertificatesArgs,
    RestMTLSIngress,
    RestMTLSIngressArgs,
    SecureFlinkDeployment,
    SecureFlinkDeploymentArgs,
    SecureFlinkUI,
    SecureFlinkUIArgs,
)
from secure_flink.components.rest_mtls_ingress import INGRESS_CALLER
from secure_flink.components.rest_mtls_ingress import ROLE as API_PROXY
from secure_flink.components.secure_flink_ui import ROLE as UI_PROXY
from secure_flink.domain import names
from secure_flink.domain.exposure import Exposure
from secure_flink.domain.network_policy import KUBERNETES_DNS, OPENSHIFT_DNS, proxy_callers
from secure_flink.domain.proxy_workload import proxy_labels
from secure_flink.domain.rest_access import curl_commands
from secure_flink.settings import Platform, PulumiConfig, read_settings

settings = read_settings(PulumiConfig())
tls_settings = settings.tls
ui_settings = settings.ui
openshift = settings.platform is Platform.OPENSHIFT

NetworkBaseline(
    "network-baseline",
    NetworkBaselineArgs(namespace=settings.namespace, dns=OPENSHIFT_DNS if openshift else KUBERNETES_DNS),
)
ca = CertificateAuthority(
    "stack-ca",
    CertificateAuthorityArgs(
        common_name=names.authority_common_name(pulumi.get_stack(), "CA"),
        key=tls_settings.key,
        lifetime=tls_settings.ca_lifetime,
        rotation=tls_settings.rotation,
    ),
)
# Signs the operator's client certificate and nothing else: what every deployment under REST mTLS admits.
operator_ca = CertificateAuthority(
    "operator-client-ca",
    CertificateAuthorityArgs(
        common_name=names.authority_common_name(pulumi.get_stack(), "operator client CA"),
        key=tls_settings.key,
        lifetime=tls_settings.ca_lifetime,
        rotation=tls_settings.rotation,
    ),
)

rest_clients = None
if settings.rest_clients:
    rest_clients = RestClientCertificates(
        "rest-clients",
        RestClientCertificatesArgs(
            clients=settings.rest_clients,
            key=tls_settings.key,
            ca_lifetime=tls_settings.ca_lifetime,
            lifetime=tls_settings.cert_lifetime,
            rotation=tls_settings.rotation,
        ),
    )

exposure = Exposure.ROUTE if openshift else Exposure.INGRESS
# Who calls Flink for the REST API's clients: the stack's own proxy on OpenShift, ingress-nginx on Kubernetes.
rest_api_caller = API_PROXY if openshift else INGRESS_CALLER
callers = proxy_callers(exposure, settings.ingress_controller_namespace)
ui_urls: dict[str, pulumi.Output[str]] = {}
rest_urls: dict[str, pulumi.Output[str]] = {}
generated_passwords: dict[str, pulumi.Output[dict[str, str]]] = {}
# Under REST mTLS every caller of Flink's REST API presents a certificate the stack issues it.
rest_callers = [
    *([UI_PROXY] if ui_settings.enabled else []),
    *([rest_api_caller] if rest_clients is not None else []),
]
tls_by_deployment = {
    deployment.name: FlinkInternalTLS(
        f"{deployment.name}-tls",
        FlinkInternalTLSArgs(
            deployment_name=deployment.name,
            namespace=settings.namespace,
            key=tls_settings.key,
            protocol=tls_settings.protocol,
            ca_lifetime=tls_settings.ca_lifetime,
            lifetime=tls_settings.cert_lifetime,
            rotation=tls_settings.rotation,
            rest_authentication=deployment.rest_authentication,
            rest_client_identities=rest_callers,
            rest_caller_ca_pems=[operator_ca.cert_pem],
            rest_allowed_certificates=list(rest_clients.certificates.values()) if rest_clients is not None else [],
        ),
    )
    for deployment in settings.deployments
}
FlinkOperatorTrust(
    "operator-trust",
    FlinkOperatorTrustArgs(
        operator_namespace=settings.operator_namespace,
        client_ca=operator_ca,
        rest_ca_pems={name: flink_tls.rest_ca_pem for name, flink_tls in tls_by_deployment.items()},
        key=tls_settings.key,
        lifetime=tls_settings.cert_lifetime,
        rotation=tls_settings.rotation,
    ),
)
for index, deployment in enumerate(settings.deployments):
    if not deployment.rest_authentication_set:
        pulumi.log.warn(
            f"deployments[{index}] ({deployment.name}) does not set restAuthentication, so Flink's REST API requires "
            "client certificates (mtls, the default). A stack created while tls was the default restarts this "
            "cluster on this update; set restAuthentication to mtls to confirm, or to tls to keep the old mode."
        )
    flink_tls = tls_by_deployment[deployment.name]
    identities = flink_tls.rest_client_identities
    flink = SecureFlinkDeployment(
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
            operator_namespace=settings.operator_namespace,
            rest_client_labels=[
                *([proxy_labels(deployment.name, UI_PROXY)] if ui_settings.enabled else []),
                *([proxy_labels(deployment.name, API_PROXY)] if rest_clients is not None and openshift else []),
            ],
            rest_client_namespaces=(
                [settings.ingress_controller_namespace] if rest_clients is not None and not openshift else []
            ),
            api_access=deployment.api_access,
            api_server_cidrs=settings.api_server_cidrs,
            assign_uid=not openshift,
            egress=deployment.egress,
            user_configuration=deployment.flink_configuration,
        ),
    )
    if rest_clients is not None:
        rest_urls[deployment.name] = RestMTLSIngress(
            f"{deployment.name}-api",
            RestMTLSIngressArgs(
                deployment_name=deployment.name,
                namespace=settings.namespace,
                host=names.rest_api_host(deployment.name, ui_settings.domain),
                ca=ca,
                flink_rest_ca_pem=flink_tls.rest_ca_pem,
                client_ca_pem=rest_clients.ca_cert_pem,
                client_common_names=list(rest_clients.common_names.values()),
                client_fingerprints=rest_clients.fingerprints.apply(lambda f: sorted(f.values())),
                exposure=exposure,
                ingress_class=ui_settings.ingress_class,
                proxy_image=ui_settings.proxy_image,
                max_body_size=ui_settings.max_body_size,
                key=tls_settings.key,
                protocol=tls_settings.protocol,
                lifetime=tls_settings.cert_lifetime,
                rotation=tls_settings.rotation,
                proxy_callers=callers,
                upstream=[flink.resource],
                upstream_identity=identities.get(rest_api_caller),
            ),
        ).url
    if not ui_settings.enabled:
        continue
    ui = SecureFlinkUI(
        f"{deployment.name}-ui",
        SecureFlinkUIArgs(
            deployment_name=deployment.name,
            namespace=settings.namespace,
            ca=ca,
            flink_rest_ca_pem=flink_tls.rest_ca_pem,
            users=[ProxyUser(name=u.name, password=u.password) for u in ui_settings.users],
            hash_scheme=ui_settings.hash_scheme,
            exposure=exposure,
            host=names.ui_host(deployment.name, ui_settings.domain),
            route_termination=ui_settings.route_termination,
            ingress_class=ui_settings.ingress_class,
            max_body_size=ui_settings.max_body_size,
            image=ui_settings.proxy_image,
            assign_uid=not openshift,
            key=tls_settings.key,
            lifetime=tls_settings.cert_lifetime,
            rotation=tls_settings.rotation,
            proxy_callers=callers,
            upstream=[flink.resource],
            upstream_identity=identities.get(UI_PROXY),
        ),
    )
    ui_urls[deployment.name] = ui.url
    generated_passwords[deployment.name] = ui.generated_passwords

pulumi.export("caCertificate", ca.cert_pem)
pulumi.export("platform", settings.platform.value)
pulumi.export("restEndpoints", {d.name: names.rest_url(d.name, settings.namespace) for d in settings.deployments})
pulumi.export("restCaCertificates", {name: flink_tls.rest_ca_pem for name, flink_tls in tls_by_deployment.items()})
if rest_urls:
    pulumi.export("restUrls", rest_urls)
    first_client = settings.rest_clients[0]
    pulumi.export(
        "restCurl", {name: url.apply(lambda u: curl_commands(u, first_client)) for name, url in rest_urls.items()}
    )
if rest_clients is not None:
    pulumi.export("restClientCaCertificate", rest_clients.ca_cert_pem)
    pulumi.export("restClientFingerprints", rest_clients.fingerprints)
    pulumi.export("restClients", rest_clients.bundles)
if ui_settings.enabled:
    pulumi.export("uiUrls", ui_urls)
    pulumi.export("uiUsers", [user.name for user in ui_settings.users])
    pulumi.export("uiGeneratedPasswords", pulumi.Output.secret(generated_passwords))
