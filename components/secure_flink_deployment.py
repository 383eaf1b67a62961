"""SecureFlinkDeployment: a FlinkDeployment custom resource wired to the stack's TLS material."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.render import flink_deployment, names
from components.render.flink_conf import SECRET_MOUNTS_KEY, merge_flink_configuration
from components.render.flink_deployment import DeploymentMode, JobSpec, ProcessResources
from components.render.network_policy import jobmanager_ingress_policy

TYPE = "secureflink:index:SecureFlinkDeployment"


@dataclass(frozen=True, kw_only=True)
class SecureFlinkDeploymentArgs:
    namespace: str
    image: str
    flink_version: str
    mode: DeploymentMode
    service_account: str
    job_manager: ProcessResources
    task_manager: ProcessResources
    job: JobSpec | None
    configuration_fragments: Sequence[pulumi.Input[Mapping[str, str]]]
    """Fragments owned by other components (e.g. FlinkInternalTLS); no key may appear twice."""
    secret_mounts: Sequence[pulumi.Input[Mapping[str, str]]]
    """Secret name -> path maps, joined into `kubernetes.secrets`."""
    operator_namespace: str
    """The operator calls the REST endpoint from there; the NetworkPolicy lets it."""
    rest_client_labels: Sequence[Mapping[str, str]] = ()
    """Pod labels of the other clients allowed on the REST port (the UI proxies)."""
    rest_client_namespaces: Sequence[str] = ()
    """Namespaces whose pods may call the REST port (an ingress controller)."""
    user_configuration: Mapping[str, str] = field(default_factory=dict)
    """The user's own flinkConfiguration; it may override hardening defaults, never a fragment's key."""


class SecureFlinkDeployment(pulumi.ComponentResource):
    """Creates the FlinkDeployment (flink.apache.org/v1beta1) named after the component, and a
    NetworkPolicy that opens its JobManager's REST port only to the given clients and the operator.

    Pulumi waits until the operator reports the JobManager READY (`pulumi.com/waitFor`). The
    spec holds keystore passwords (Flink reads them only from its configuration), so it is
    secret in Pulumi, and `status` is marked secret too: the operator copies the spec into it.
    """

    resource: k8s.apiextensions.CustomResource

    def __init__(self, name: str, args: SecureFlinkDeploymentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        spec = pulumi.Output.all(
            pulumi.Output.all(*args.configuration_fragments), pulumi.Output.all(*args.secret_mounts)
        ).apply(lambda v: self._spec(args, v[0], v[1]))
        self.resource = k8s.apiextensions.CustomResource(
            name,
            api_version=flink_deployment.API_VERSION,
            kind=flink_deployment.KIND,
            metadata={
                "name": name,
                "namespace": args.namespace,
                "labels": names.labels(name, "flink"),
                "annotations": flink_deployment.wait_annotations(),
            },
            spec=spec,
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["status"]),
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-jobmanager",
            metadata={"namespace": args.namespace, "labels": names.labels(name, "flink")},
            spec=jobmanager_ingress_policy(
                deployment=name,
                operator_namespace=args.operator_namespace,
                rest_client_labels=args.rest_client_labels,
                rest_client_namespaces=args.rest_client_namespaces,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"name": self.resource.metadata["name"]})

    @staticmethod
    def _spec(
        args: SecureFlinkDeploymentArgs, fragments: list[Mapping[str, str]], mounts: list[Mapping[str, str]]
    ) -> dict[str, object]:
        all_mounts = {secret: path for mount in mounts for secret, path in mount.items()}
        own = {**flink_deployment.hardening_defaults(args.job), **args.user_configuration}
        configuration = merge_flink_configuration(
            own, *fragments, {SECRET_MOUNTS_KEY: names.secret_mount_list(all_mounts)}
        )
        return flink_deployment.flink_deployment_spec(
            image=args.image,
            flink_version=args.flink_version,
            mode=args.mode,
            service_account=args.service_account,
            job_manager=args.job_manager,
            task_manager=args.task_manager,
            job=args.job,
            flink_configuration=configuration,
        )
