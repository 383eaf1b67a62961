"""What a FlinkDeployment's pods may do with the Kubernetes API: the Role rules of its ServiceAccount.

The operator's Helm chart binds every Flink pod in a namespace to one shared `flink` Role (pods,
configmaps, deployments and deployments/finalizers, seven verbs each). Here each FlinkDeployment gets
its own ServiceAccount with only the calls its pods make, and no token at all when they make none.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from .flink_conf import HighAvailability, high_availability
from .flink_deployment import DeploymentMode

READ = ["get", "list", "watch"]


@dataclass(frozen=True, kw_only=True)
class ApiAccess:
    """Which Kubernetes API calls a FlinkDeployment's pods make."""

    manages_pods: bool
    """Native mode: the JobManager starts, watches and deletes its TaskManager pods."""
    leader_election: bool
    """Kubernetes HA: leader election, checkpoint counters and job metadata live in ConfigMaps."""

    @property
    def needed(self) -> bool:
        return self.manages_pods or self.leader_election


def uses_kubernetes_ha(flink_configuration: Mapping[str, str]) -> bool:
    return high_availability(flink_configuration) is HighAvailability.KUBERNETES


def api_access(mode: DeploymentMode, flink_configuration: Mapping[str, str]) -> ApiAccess:
    return ApiAccess(
        manages_pods=mode is DeploymentMode.NATIVE, leader_election=uses_kubernetes_ha(flink_configuration)
    )


def role_rules(deployment: str, access: ApiAccess) -> list[dict[str, object]]:
    """Rules of the Role bound to the deployment's ServiceAccount; empty when its pods need no API.

    Pods: `list` and `watch` recover and follow TaskManagers, `create` and `delete` start and release
    them (Flink never patches a pod). Deployments: the JobManager reads its own Deployment to own its
    TaskManager pods, deletes it when the cluster shuts down, and updates `deployments/finalizers`
    because those owner references block deletion, which the OwnerReferencesPermissionEnforcement
    admission plugin (on in OpenShift) checks; `resourceNames` confines all three to this deployment.
    ConfigMaps (HA): the leader lock is updated by replace or by merge patch, depending on the client
    version. Never secrets, never `*`.
    """
    rules: list[dict[str, object]] = []
    if access.leader_election:
        rules.append(
            {
                "apiGroups": [""],
                "resources": ["configmaps"],
                "verbs": [*READ, "create", "update", "patch", "delete"],
            }
        )
    if access.manages_pods:
        rules += [
            {"apiGroups": [""], "resources": ["pods"], "verbs": [*READ, "create", "delete"]},
            {
                "apiGroups": ["apps"],
                "resources": ["deployments"],
                "resourceNames": [deployment],
                "verbs": ["get", "delete"],
            },
            {
                "apiGroups": ["apps"],
                "resources": ["deployments/finalizers"],
                "resourceNames": [deployment],
                "verbs": ["update"],
            },
        ]
    return rules
