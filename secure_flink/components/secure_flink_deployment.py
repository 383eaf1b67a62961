"""SecureFlinkDeployment: a FlinkDeployment custom resource wired to the stack's TLS material."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from secure_flink.components import custom_resources
from secure_flink.domain import flink_deployment, names
from secure_flink.domain.deployment import DeploymentSettings
from secure_flink.domain.flink_conf import SECRET_MOUNTS_KEY, merge_flink_configuration
from secure_flink.domain.network_policy import flink_pods_policy, jobmanager_ingress_policy
from secure_flink.domain.problems import ArgumentChecks
from secure_flink.domain.rbac import role_rules

TYPE = "secureflink:index:SecureFlinkDeployment"


@dataclass(frozen=True, kw_only=True)
class SecureFlinkDeploymentArgs:
    deployment: DeploymentSettings
    """What the user asked for: image, version, mode, resources, job, configuration, mounts, egress. Its name
    names the FlinkDeployment; the component's own name only names Pulumi resources."""
    namespace: str
    configuration_fragments: Sequence[pulumi.Input[Mapping[str, str]]]
    """Fragments owned by other components (e.g. FlinkInternalTLS); no key may appear twice, nor any key of the
    user's `flinkConfiguration`."""
    secret_mounts: Sequence[pulumi.Input[Mapping[str, str]]]
    """Secret name -> path maps owned by other components, joined with the user's into `kubernetes.secrets`."""
    operator_namespace: str
    """The operator calls the REST endpoint from there; the NetworkPolicy lets it."""
    rest_client_labels: Sequence[Mapping[str, str]] = ()
    """Pod labels of the other clients allowed on the REST port (the UI proxies)."""
    rest_client_namespaces: Sequence[str] = ()
    """Namespaces whose pods may call the REST port (an ingress controller)."""
    api_server_cidrs: Sequence[str]
    """Where the API server listens: the pods' egress when they call it."""
    assign_uid: bool
    """Kubernetes: run as the image's `flink` user. OpenShift: leave UID and fsGroup to the restricted SCC."""

    def __post_init__(self) -> None:
        checks = ArgumentChecks(self)
        # The REST port admits the operator by namespace: in Flink's own, that admits every pod there.
        operator = self.operator_namespace
        namespace_fix = f"namespace='{names.free_label('flink', [operator])}'"
        checks.check("namespace", self.namespace, names.namespace_problem(self.namespace), namespace_fix)
        operator_fix = f"operator_namespace='{names.free_label('flink-operator', [self.namespace])}'"
        checks.check("operator_namespace", operator, names.namespace_problem(operator), operator_fix)
        if operator == self.namespace:
            reason = "equals namespace: the REST port would open to every pod of that namespace"
            checks.check("operator_namespace", operator, reason, "the operator's own namespace")
        name = self.deployment.name
        name_reason = names.deployment_name_problem(name)
        checks.check("deployment.name", name, name_reason, "name='etl'")
        checks.raise_any()


class SecureFlinkDeployment(pulumi.ComponentResource):
    """Creates the FlinkDeployment (flink.apache.org/v1beta1) named after the component; the
    ServiceAccount its pods run as, with a Role for exactly the API calls they make (none in standalone
    mode without Kubernetes HA, and then no token either); and two NetworkPolicies: its pods reach
    each other and nothing else, and its JobManager's REST port admits only the given clients and the
    operator. Its pods run in the restricted Pod Security profile through the pod template.

    Pulumi waits until the operator reports the JobManager READY (`pulumi.com/waitFor`). The
    spec holds keystore passwords (Flink reads them only from its configuration), so it is
    secret in Pulumi, and `status` is marked secret too: the operator copies the spec into it.
    """

    resource: k8s.apiextensions.CustomResource

    def __init__(self, name: str, args: SecureFlinkDeploymentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cluster = args.deployment.name
        metadata = {"namespace": args.namespace, "labels": names.labels(cluster, "flink")}
        account = self._service_account(name, args, metadata, child)
        spec = pulumi.Output.all(
            pulumi.Output.all(*args.configuration_fragments),
            pulumi.Output.all(*args.secret_mounts, args.deployment.secret_mounts),
            account,
        ).apply(lambda v: self._spec(args, v[0], v[1], v[2]))
        self.resource = k8s.apiextensions.CustomResource(
            name,
            api_version=flink_deployment.API_VERSION,
            kind=flink_deployment.KIND,
            metadata={**metadata, "name": cluster, "annotations": flink_deployment.wait_annotations()},
            spec=spec,
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["status"]),
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-pods",
            metadata=metadata,
            spec=flink_pods_policy(
                deployment=cluster,
                api_server_cidrs=args.api_server_cidrs if args.deployment.api_access.needed else (),
                egress=args.deployment.egress,
            ),
            opts=child,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-jobmanager",
            metadata=metadata,
            spec=jobmanager_ingress_policy(
                deployment=cluster,
                operator_namespace=args.operator_namespace,
                rest_client_labels=args.rest_client_labels,
                rest_client_namespaces=args.rest_client_namespaces,
            ),
            opts=child,
        )
        self.register_outputs({"name": custom_resources.output(self.resource, "metadata")["name"]})

    @staticmethod
    def _service_account(
        name: str, args: SecureFlinkDeploymentArgs, metadata: Mapping[str, object], child: pulumi.ResourceOptions
    ) -> pulumi.Output[str]:
        """The ServiceAccount's name, known once it exists (and, with a Role, once it is bound)."""
        account = k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata={**metadata, "name": args.deployment.service_account},
            automount_service_account_token=args.deployment.api_access.needed,
            opts=child,
        )
        rules = role_rules(args.deployment.name, args.deployment.api_access)
        if not rules:
            return account.metadata.name
        role = k8s.rbac.v1.Role(f"{name}-role", metadata=metadata, rules=rules, opts=child)
        binding = k8s.rbac.v1.RoleBinding(
            f"{name}-role-binding",
            metadata=metadata,
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role.metadata.name},
            subjects=[{"kind": "ServiceAccount", "name": account.metadata.name, "namespace": args.namespace}],
            opts=child,
        )
        return pulumi.Output.all(account.metadata.name, binding.metadata.name).apply(lambda v: v[0])

    @staticmethod
    def _spec(
        args: SecureFlinkDeploymentArgs,
        fragments: list[Mapping[str, str]],
        mounts: list[Mapping[str, str]],
        service_account: str,
    ) -> dict[str, object]:
        deployment = args.deployment
        all_mounts = {secret: path for mount in mounts for secret, path in mount.items()}
        own = {**flink_deployment.hardening_defaults(deployment.job), **deployment.flink_configuration}
        configuration = merge_flink_configuration(
            own, *fragments, {SECRET_MOUNTS_KEY: names.secret_mount_list(all_mounts)}
        )
        return flink_deployment.flink_deployment_spec(
            image=deployment.image,
            flink_version=deployment.flink_version,
            mode=deployment.mode,
            service_account=service_account,
            job_manager=deployment.job_manager,
            task_manager=deployment.task_manager,
            job=deployment.job,
            flink_configuration=configuration,
            pod_template=flink_deployment.pod_template(
                assign_uid=args.assign_uid, mount_api_token=deployment.api_access.needed
            ),
        )
