"""A Kubernetes entry point on 127.0.0.1, from one render: real nginx configured as ingress-nginx (v1.14.5)
configures itself from a rendered Ingress, in front of the rendered proxy it leads to (the REST API's or a UI's,
real nginx), in front of a Flink REST port."""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from offline.engine import RunResult
from secure_flink.domain import names
from tests.conftest import require_tool
from tests.integration.software.ingress_nginx import controller_nginx_conf
from tests.integration.software.local_nginx import LocalNginx, free_port, scratch_dir
from tests.integration.software.proxy_from_render import local_proxy_conf

INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
SECRET = "kubernetes:core/v1:Secret"
NGINX_WHY = "the REST Ingress is proven on the nginx ingress-nginx would configure, before the real proxy"


@dataclass(frozen=True)
class RestGateway:
    controller: LocalNginx
    """Where clients connect, as to the Ingress's host."""
    proxy: LocalNginx
    """The REST API proxy: only the controller's certificate gets past its allow-list."""

    def error_logs(self) -> str:
        return self.controller.error_log()[-2000:] + self.proxy.error_log()[-2000:]


def rest_ingress(result: RunResult, deployment: str) -> dict[str, Any]:
    return ingress_named(result, names.rest_api_service(deployment))


def ingress_named(result: RunResult, name: str) -> dict[str, Any]:
    """The rendered Ingress whose Kubernetes name is `name`."""
    (ingress,) = [r for r in result.by_type(INGRESS) if r.outputs["metadata"]["name"] == name]
    return dict(ingress.outputs)


def secrets_by_name(result: RunResult) -> dict[str, dict[str, Any]]:
    return {r.outputs["metadata"]["name"]: r.outputs for r in result.by_type(SECRET)}


@contextmanager
def running_controller(
    ingress: Mapping[str, Any],
    secrets: Mapping[str, dict[str, Any]],
    upstream_port: int,
    *,
    listen_port: int | None = None,
    also: Sequence[Mapping[str, Any]] = (),
) -> Iterator[LocalNginx]:
    """nginx as the controller runs `ingress` (and `also`, further Ingresses of its host), proxying to
    127.0.0.1:`upstream_port`; listening on `listen_port` (a free port if not given: give one when the public port
    must be known before, as for a login's callback URL). Its access log is `access.log` in its working dir."""
    nginx = require_tool("nginx", NGINX_WHY)
    with scratch_dir() as root:
        port = listen_port or free_port()
        conf = controller_nginx_conf(ingress, secrets, root, listen_port=port, upstream_port=upstream_port, also=also)
        with LocalNginx(nginx, conf, root, port) as running:
            yield running


@contextmanager
def running_rest_gateway(result: RunResult, deployment: str, flink_rest_port: int) -> Iterator[RestGateway]:
    """The controller and `deployment`'s REST API proxy, in front of Flink's REST port; stopped at exit."""
    with running_gateway(result, f"{deployment}-api", rest_ingress(result, deployment), flink_rest_port) as gateway:
        yield gateway


@contextmanager
def running_gateway(
    result: RunResult, component: str, ingress: Mapping[str, Any], flink_rest_port: int
) -> Iterator[RestGateway]:
    """The controller running `ingress`, in front of `component`'s proxy (a SecureFlinkUI's or a RestMTLSIngress's),
    in front of Flink's REST port; stopped at exit."""
    nginx = require_tool("nginx", NGINX_WHY)
    with scratch_dir() as root:
        port = free_port()
        conf = local_proxy_conf(result, component, root, listen_port=port, upstream_port=flink_rest_port)
        with (
            LocalNginx(nginx, conf, root, port) as proxy,
            running_controller(ingress, secrets_by_name(result), proxy.port) as controller,
        ):
            yield RestGateway(controller, proxy)
            assert "emerg" not in proxy.error_log()
