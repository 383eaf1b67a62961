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
"""The REST API proxy's, likewise (on OpenShift; see API_PROXY_IDENTITY_ON_KUBERNETES)."""
API_PROXY_IDENTITY_ON_KUBERNETES = "ingress"
"""The REST API proxy's identity among Flink's REST callers on Kubernetes: the name its certificate was issued
under when ingress-nginx called Flink itself (before 0.13). A new name would issue a new certificate, change
Flink's REST truststore, and restart every cluster under REST mTLS."""


class Platform(str, Enum):
    KUBERNETES = "kubernetes"
    OPENSHIFT = "openshift"


@dataclass(frozen=True, kw_only=True)
class RestCaller:
    """A caller of Flink's REST API besides the operator: one of the stack's proxies, the identity it is issued
    under REST mTLS, and its role label (what Flink's NetworkPolicy admits)."""

    identity: str
    proxy_role: str


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
        return [proxy_labels(deployment, caller.proxy_role) for caller in self.rest_callers]


def platform_profile(
    platform: Platform, *, ingress_controller_namespace: str, ui_enabled: bool, rest_clients: bool
) -> PlatformProfile:
    openshift = platform is Platform.OPENSHIFT
    exposure = Exposure.ROUTE if openshift else Exposure.INGRESS
    api_caller = None
    if rest_clients:
        # The stack's own proxy calls Flink for the REST clients: it checks each one's role.
        identity = API_PROXY if openshift else API_PROXY_IDENTITY_ON_KUBERNETES
        api_caller = RestCaller(identity=identity, proxy_role=API_PROXY)
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
