"""Stand-ins for the parts of a cluster no test here runs, each doing only the status write the real one does.

The Kubernetes provider waits for what the stack creates to be ready: a Deployment for its pods, a Service for
endpoints, an Ingress for a load balancer address, a FlinkDeployment (our `pulumi.com/waitFor`) for the
operator's READY. Without nodes none of that ever comes. Rather than switch the waits off, these write the
statuses the absent components would:
- the kubelet: every pod the controllers created (so admitted by PodSecurity) is reported Running and Ready,
  with an address from a test range; the ReplicaSet and endpoint controllers do the rest, for real;
- the ingress controller: every Ingress gets 127.0.0.1 as its load balancer address;
- the operator (only when the real one does not run): every FlinkDeployment is reported READY.
"""

import datetime
import ipaddress
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.integration.cluster.kube_api import KubeAPI, KubeAPIError, resources_path

POLL_SECONDS = 0.5
POD_ADDRESSES = ipaddress.ip_network("10.244.0.0/16")
MERGE_PATCH = "application/merge-patch+json"
FLINK = "flink.apache.org/v1beta1"


class StandIns:
    """The kubelet, the ingress controller and (if `operator`) the Flink operator, for `namespaces`."""

    def __init__(self, api: KubeAPI, namespaces: tuple[str, ...], *, operator: bool) -> None:
        self.api = api
        self.namespaces = namespaces
        self.operator = operator
        self._addresses = POD_ADDRESSES.hosts()
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(POLL_SECONDS):
            for namespace in self.namespaces:
                try:
                    self._pass(namespace)
                except (KubeAPIError, OSError):
                    # A conflict or an object deleted under us: the next pass sees the new state. A stand-in
                    # that keeps failing shows as the provider's wait timing out.
                    continue

    def stop(self) -> None:
        self._stopped.set()

    def _pass(self, namespace: str) -> None:
        for pod in self.api.items(f"/api/v1/namespaces/{namespace}/pods"):
            if not _ready(pod):
                self._start(pod)
        for ingress in self.api.items(f"/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses"):
            if not ingress.get("status", {}).get("loadBalancer", {}).get("ingress"):
                self._publish(ingress)
        if self.operator:
            for deployment in self.api.items(resources_path(FLINK, "flinkdeployments", namespace)):
                if deployment.get("status", {}).get("jobManagerDeploymentStatus") != "READY":
                    self._report_ready(deployment)

    def _start(self, pod: dict[str, Any]) -> None:
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        address = str(next(self._addresses))
        conditions = ("PodScheduled", "Initialized", "ContainersReady", "Ready")
        status = {
            "phase": "Running",
            "hostIP": "127.0.0.1",
            "podIP": address,
            "podIPs": [{"ip": address}],
            "startTime": now,
            "conditions": [{"type": kind, "status": "True", "lastTransitionTime": now} for kind in conditions],
            "containerStatuses": [
                {
                    "name": container["name"],
                    "image": container["image"],
                    "imageID": "",
                    "ready": True,
                    "started": True,
                    "restartCount": 0,
                    "state": {"running": {"startedAt": now}},
                }
                for container in pod["spec"]["containers"]
            ],
        }
        self.api.request("PATCH", _status_path(pod, "v1", "pods"), {"status": status}, MERGE_PATCH)

    def _publish(self, ingress: dict[str, Any]) -> None:
        status = {"loadBalancer": {"ingress": [{"ip": "127.0.0.1"}]}}
        path = _status_path(ingress, "networking.k8s.io/v1", "ingresses")
        self.api.request("PATCH", path, {"status": status}, MERGE_PATCH)

    def _report_ready(self, deployment: dict[str, Any]) -> None:
        path = _status_path(deployment, FLINK, "flinkdeployments")
        status = {"jobManagerDeploymentStatus": "READY", "lifecycleState": "DEPLOYED"}
        self.api.request("PATCH", path, {"status": status}, MERGE_PATCH)


def _ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _status_path(item: dict[str, Any], group_version: str, plural: str) -> str:
    """The status subresource of a listed item (list items carry no apiVersion or kind)."""
    metadata = item["metadata"]
    return f"{resources_path(group_version, plural, metadata['namespace'])}/{metadata['name']}/status"


@contextmanager
def standing_in(api: KubeAPI, namespaces: tuple[str, ...], *, operator: bool) -> Iterator[StandIns]:
    stand_ins = StandIns(api, namespaces, operator=operator)
    thread = threading.Thread(target=stand_ins.run, name="cluster-stand-ins", daemon=True)
    thread.start()
    try:
        yield stand_ins
    finally:
        stand_ins.stop()
        thread.join()
