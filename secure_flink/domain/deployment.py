"""What one FlinkDeployment is, as the stack's user describes it: validated values, nothing derived yet."""

from collections.abc import Mapping
from dataclasses import dataclass, field

from .flink_conf import RestAuthentication
from .flink_deployment import DeploymentMode, JobSpec, ProcessResources
from .network_policy import EgressRule
from .rbac import ApiAccess, api_access


@dataclass(frozen=True, kw_only=True)
class DeploymentSettings:
    name: str
    image: str
    flink_version: str
    mode: DeploymentMode
    service_account: str
    job_manager: ProcessResources
    task_manager: ProcessResources
    job: JobSpec | None
    flink_configuration: Mapping[str, str] = field(default_factory=dict)
    secret_mounts: Mapping[str, str] = field(default_factory=dict)
    """Extra Secrets to mount into Flink pods: Secret name -> absolute path."""
    rest_authentication: RestAuthentication = RestAuthentication.MTLS
    """`mtls`: Flink's REST API itself requires client certificates, from the callers the stack issued them to."""
    rest_authentication_set: bool = True
    """False when the stack config leaves `restAuthentication` to its default."""
    egress: tuple[EgressRule, ...] = ()
    """Where the jobs may connect besides their own cluster and DNS (sources, sinks, object storage)."""

    @property
    def api_access(self) -> ApiAccess:
        return api_access(self.mode, self.flink_configuration)
