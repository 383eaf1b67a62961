"""SecureFlinkPlatform: everything one stack runs, composed from validated settings."""

from dataclasses import dataclass

import pulumi

from secure_flink.components.certificate_authority import CertificateAuthority, CertificateAuthorityArgs
from secure_flink.components.flink_internal_tls import FlinkInternalTLS, FlinkInternalTLSArgs
from secure_flink.components.flink_operator_trust import FlinkOperatorTrust, FlinkOperatorTrustArgs
from secure_flink.components.flink_rest_proxy import ClientCertificateAuth, FlinkUpstream
from secure_flink.components.network_baseline import NetworkBaseline, NetworkBaselineArgs
from secure_flink.components.rest_client_certificates import RestClientCertificates, RestClientCertificatesArgs
from secure_flink.components.rest_mtls_ingress import RestMTLSIngress, RestMTLSIngressArgs
from secure_flink.components.secure_flink_deployment import SecureFlinkDeployment, SecureFlinkDeploymentArgs
from secure_flink.components.secure_flink_ui import ProxyUser, SecureFlinkUI, SecureFlinkUIArgs
from secure_flink.components.single_sign_on import SignOn
from secure_flink.domain import names
from secure_flink.domain.platform_profile import RestCaller
from secure_flink.domain.proxy_workload import ProxyOptions
from secure_flink.domain.rest_access import curl_commands
from secure_flink.settings import DeploymentSettings, StackSettings
from secure_flink.settings.model import OidcSettings

TYPE = "secureflink:index:SecureFlinkPlatform"


@dataclass(frozen=True, kw_only=True)
class SecureFlinkPlatformArgs:
    settings: StackSettings
    """Validated as a whole (secure_flink.settings.read_settings): nothing is checked again here."""


class SecureFlinkPlatform(pulumi.ComponentResource):
    """Creates, for one stack: the namespace's NetworkPolicy baseline, the stack CA and the operator's client CA,
    the REST clients' certificates, and per FlinkDeployment its TLS material (FlinkInternalTLS), the
    FlinkDeployment itself, its SecureFlinkUI and, with REST clients, its RestMTLSIngress; the operator's trust
    of every REST CA. `stack_outputs` are what a stack exports.

    Its children were the stack's own before this component existed: each keeps its name and carries an alias
    to the stack, so a stack made before upgrades in place.
    """

    ca_cert_pem: pulumi.Output[str]
    """The stack CA: what browsers and curl trust for the UI and REST entry points."""
    rest_endpoints: dict[str, str]
    """Deployment -> its in-cluster REST URL."""
    rest_ca_pems: dict[str, pulumi.Output[str]]
    """Deployment -> the CA of its REST certificate."""
    ui_urls: dict[str, pulumi.Output[str]]
    """Deployment -> where its Web UI is served (none with the UI disabled)."""
    stack_outputs: dict[str, pulumi.Input[object]]
    """Output name -> value: the above, and with them the REST URLs, clients and UI users."""

    def __init__(self, name: str, args: SecureFlinkPlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        settings = self._settings = args.settings
        self._profile = settings.profile
        self._child = pulumi.ResourceOptions(parent=self, aliases=[pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)])
        NetworkBaseline(
            "network-baseline",
            NetworkBaselineArgs(namespace=settings.namespace, dns=self._profile.dns),
            opts=self._child,
        )
        self._issuer = self._authority("stack-ca", "CA")
        # Signs the operator's client certificate and nothing else: what every deployment under REST mTLS admits.
        operator_ca = self._authority("operator-client-ca", "operator client CA")
        self._rest_clients = self._client_certificates()
        self._proxy_options = ProxyOptions(
            image=settings.ui.proxy_image,
            max_body_size=settings.ui.max_body_size,
            ingress_class=settings.ui.ingress_class,
        )
        tls_by_deployment = {d.name: self._flink_tls(d, operator_ca) for d in settings.deployments}
        FlinkOperatorTrust(
            "operator-trust",
            FlinkOperatorTrustArgs(
                operator_namespace=settings.operator_namespace,
                client_ca=operator_ca,
                rest_ca_pems={name: flink_tls.rest_ca_pem for name, flink_tls in tls_by_deployment.items()},
            ),
            opts=self._child,
        )
        self.ui_urls = {}
        self._rest_urls: dict[str, pulumi.Output[str]] = {}
        self._generated_passwords: dict[str, pulumi.Output[dict[str, str]]] = {}
        for index, deployment in enumerate(settings.deployments):
            self._deployment(index, deployment, tls_by_deployment[deployment.name])
        self.ca_cert_pem = self._issuer.cert_pem
        self.rest_endpoints = {d.name: names.rest_url(d.name, settings.namespace) for d in settings.deployments}
        self.rest_ca_pems = {name: flink_tls.rest_ca_pem for name, flink_tls in tls_by_deployment.items()}
        self.stack_outputs = self._outputs()
        self.register_outputs({"stack_outputs": self.stack_outputs})

    def _authority(self, name: str, role: str) -> CertificateAuthority:
        return CertificateAuthority(
            name,
            CertificateAuthorityArgs(
                common_name=names.authority_common_name(pulumi.get_stack(), role), policy=self._settings.tls.issuance
            ),
            opts=self._child,
        )

    def _client_certificates(self) -> RestClientCertificates | None:
        if not self._settings.rest_clients:
            return None
        return RestClientCertificates(
            "rest-clients",
            RestClientCertificatesArgs(
                clients=tuple(client.name for client in self._settings.rest_clients), policy=self._settings.tls.issuance
            ),
            opts=self._child,
        )

    def _flink_tls(self, deployment: DeploymentSettings, operator_ca: CertificateAuthority) -> FlinkInternalTLS:
        clients = self._rest_clients
        return FlinkInternalTLS(
            f"{deployment.name}-tls",
            FlinkInternalTLSArgs(
                deployment_name=deployment.name,
                namespace=self._settings.namespace,
                policy=self._settings.tls.issuance,
                protocol=self._settings.tls.protocol,
                rest_authentication=deployment.rest_authentication,
                rest_client_identities=self._profile.rest_caller_identities,
                rest_caller_ca_pems=[operator_ca.cert_pem],
                rest_allowed_certificates=list(clients.certificates.values()) if clients is not None else [],
            ),
            opts=self._child,
        )

    def _deployment(self, index: int, deployment: DeploymentSettings, flink_tls: FlinkInternalTLS) -> None:
        settings = self._settings
        if not deployment.rest_authentication_set:
            pulumi.log.warn(
                f"deployments[{index}] ({deployment.name}) does not set restAuthentication, so Flink's REST API "
                "requires client certificates (mtls, the default). A stack created while tls was the default "
                "restarts this cluster on this update; set restAuthentication to mtls to confirm, or to tls to keep "
                "the old mode.",
                resource=self,
            )
        flink = SecureFlinkDeployment(
            deployment.name,
            SecureFlinkDeploymentArgs(
                deployment=deployment,
                namespace=settings.namespace,
                configuration_fragments=[flink_tls.flink_configuration],
                secret_mounts=[flink_tls.secret_mounts],
                operator_namespace=settings.operator_namespace,
                rest_client_labels=self._profile.rest_caller_labels(deployment.name),
                api_server_cidrs=settings.api_server_cidrs,
                assign_uid=self._profile.assign_uid,
            ),
            opts=self._child,
        )

        def upstream(caller: RestCaller) -> FlinkUpstream:
            return FlinkUpstream(
                deployment_name=deployment.name,
                namespace=settings.namespace,
                rest_ca_pem=flink_tls.rest_ca_pem,
                identity=flink_tls.rest_client_identities.get(caller.identity),
                serving=[flink.resource],
            )

        api_caller = self._profile.rest_api_caller
        if self._rest_clients is not None and api_caller is not None:
            self._rest_urls[deployment.name] = self._rest_api(deployment, upstream(api_caller), self._rest_clients).url
        ui_caller = self._profile.ui_caller
        if ui_caller is not None:
            ui = self._ui(deployment, upstream(ui_caller))
            self.ui_urls[deployment.name] = ui.url
            self._generated_passwords[deployment.name] = ui.generated_passwords

    def _rest_api(
        self, deployment: DeploymentSettings, upstream: FlinkUpstream, clients: RestClientCertificates
    ) -> RestMTLSIngress:
        domain = self._settings.ui.domain
        if domain is None:
            raise ValueError("settings with restClients have a domain (read_settings requires one)")
        return RestMTLSIngress(
            f"{deployment.name}-api",
            RestMTLSIngressArgs(
                upstream=upstream,
                host=names.rest_api_host(deployment.name, domain),
                issuer=self._issuer,
                clients=ClientCertificateAuth(
                    ca_pem=clients.ca_cert_pem,
                    fingerprints=clients.fingerprints,
                    common_names=clients.common_names,
                    roles={client.name: client.role for client in self._settings.rest_clients},
                ),
                profile=self._profile,
                options=self._proxy_options,
            ),
            opts=self._child,
        )

    def _ui(self, deployment: DeploymentSettings, upstream: FlinkUpstream) -> SecureFlinkUI:
        ui = self._settings.ui
        sign_on = None if ui.oidc is None else _sign_on(ui.oidc)
        return SecureFlinkUI(
            f"{deployment.name}-ui",
            SecureFlinkUIArgs(
                upstream=upstream,
                issuer=self._issuer,
                users=[] if sign_on else [ProxyUser(name=u.name, role=u.role, password=u.password) for u in ui.users],
                hash_scheme=ui.hash_scheme,
                host=names.ui_host(deployment.name, ui.domain),
                route_termination=ui.route_termination,
                profile=self._profile,
                options=self._proxy_options,
                sign_on=sign_on,
            ),
            opts=self._child,
        )

    def _outputs(self) -> dict[str, pulumi.Input[object]]:
        settings = self._settings
        outputs: dict[str, pulumi.Input[object]] = {
            "caCertificate": self.ca_cert_pem,
            "platform": settings.platform.value,
            "restEndpoints": self.rest_endpoints,
            "restCaCertificates": self.rest_ca_pems,
        }
        if self._rest_urls:
            first_client = settings.rest_clients[0].name
            outputs["restUrls"] = self._rest_urls
            outputs["restCurl"] = {
                name: url.apply(lambda u: curl_commands(u, first_client)) for name, url in self._rest_urls.items()
            }
        if self._rest_clients is not None:
            outputs["restClientCaCertificate"] = self._rest_clients.ca_cert_pem
            outputs["restClientFingerprints"] = self._rest_clients.fingerprints
            outputs["restClients"] = self._rest_clients.bundles
        if settings.ui.enabled:
            outputs["uiUrls"] = self.ui_urls
            outputs["uiUsers"] = [] if settings.ui.oidc else [user.name for user in settings.ui.users]
            outputs["uiGeneratedPasswords"] = pulumi.Output.secret(self._generated_passwords)
        return outputs


def _sign_on(oidc: OidcSettings) -> SignOn:
    return SignOn(
        login=oidc.login,
        client_secret=pulumi.Output.secret(oidc.client_secret),
        group_roles=oidc.group_roles,
        provider_ca=oidc.provider_ca,
        egress=oidc.egress,
        image=oidc.image,
    )
