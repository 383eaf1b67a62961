"""What the platform decides for every component at once: exposure, cluster DNS, UID policy, who calls Flink.

Kubernetes and OpenShift differ in a few places only, and each is decided here, once, from the stack's
choices: the certificates Flink issues to its REST callers and the NetworkPolicies that admit them read the
same list of callers, so a caller cannot hold a certificate without a network path, or the reverse.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from .exposure import Exposure
from .network_policy import KUBERNETES_DNS, OPENSHIFT_DNS, DnsService, proxy_callers
from .proxy_workload import proxy_labels

UI_PROXY = "ui-proxy"
"""The UI proxy's role label, and its identity among Flink's REST callers."""
API_PROXY = "api-proxy"
"""The REST API proxy's (OpenShift), likewise."""
INGRESS_CONTROLLER = "ingress"
"""ingress-nginx's identity among Flink's REST callers (Kubernetes: it calls Flink for the REST clients)."""


class Platform(str, Enum):
    KUBERNETES = "kubernetes"
    OPENSHIFT = "openshift"


@dataclass(frozen=True, kw_only=True)
class RestCaller:
    """A caller of Flink's REST API besides the operator: the identity it is issued under REST mTLS, and where
    its requests come from (a proxy of the stack's, by role; or a controller's namespace)."""

    identity: str
    proxy_role: str | None = None
    namespace: str | None = None


@dataclass(frozen=True, kw_only=True)
class PlatformProfile:
    platform: Platform
    exposure: Exposure
    """How the proxies are reached from outside: a Route on OpenShift, an Ingress on Kubernetes."""
    dns: DnsService
    assign_uid: bool
    """Kubernetes: pods run as fixed non-root UIDs. OpenShift: the restricted SCC assigns them."""
    proxy_callers: tuple[Mapping[str, object], ...]
    """NetworkPolicy peers that forward outside traffic to the proxies (the routers, the ingress controller)."""
    ui_caller: RestCaller | None
    """The UI proxy; None with the UI disabled."""
    rest_api_caller: RestCaller | None
    """The REST clients' entry point; None without REST clients."""

    @property
    def rest_callers(self) -> tuple[RestCaller, ...]:
        """Who calls each deployment's REST API besides the operator."""
        return tuple(c for c in (self.ui_caller, self.rest_api_caller) if c is not None)

    @property
    def rest_caller_identities(self) -> tuple[str, ...]:
        return tuple(caller.identity for caller in self.rest_callers)

    def rest_caller_labels(self, deployment: str) -> list[dict[str, str]]:
        """Pod labels of the callers that are the stack's own proxies of `deployment`."""
        return [proxy_labels(deployment, c.proxy_role) for c in self.rest_callers if c.proxy_role is not None]

    @property
    def rest_caller_namespaces(self) -> list[str]:
        """Namespaces whose pods call the REST port (an ingress controller)."""
        return [caller.namespace for caller in self.rest_callers if caller.namespace is not None]


def platform_profile(
    platform: Platform, *, ingress_controller_namespace: str, ui_enabled: bool, rest_clients: bool
) -> PlatformProfile:
    openshift = platform is Platform.OPENSHIFT
    exposure = Exposure.ROUTE if openshift else Exposure.INGRESS
    api_caller = None
    if rest_clients:
        # OpenShift's router cannot check client certificates per Route, so the stack's own proxy calls Flink.
        api_caller = (
            RestCaller(identity=API_PROXY, proxy_role=API_PROXY)
            if openshift
            else RestCaller(identity=INGRESS_CONTROLLER, namespace=ingress_controller_namespace)
        )
    ui_caller = RestCaller(identity=UI_PROXY, proxy_role=UI_PROXY) if ui_enabled else None
    return PlatformProfile(
        platform=platform,
        exposure=exposure,
        dns=OPENSHIFT_DNS if openshift else KUBERNETES_DNS,
        assign_uid=not openshift,
        proxy_callers=tuple(proxy_callers(exposure, ingress_controller_namespace)),
        ui_caller=ui_caller,
        rest_api_caller=api_caller,
    )
