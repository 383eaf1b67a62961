"""The few Kubernetes API calls the cluster tests make, over HTTPS with the admin's client certificate."""

import http.client
import json
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REQUEST_SECONDS = 30


class KubeAPIError(RuntimeError):
    """The API server answered with an error status; `status` is the HTTP code, the message its Status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


class KubeAPI:
    """JSON requests to one API server as one client certificate."""

    def __init__(self, server: str, ca: Path, certificate: Path, key: Path) -> None:
        address = urlsplit(server)
        self.host = address.hostname
        self.port = address.port
        self.context = ssl.create_default_context(cafile=str(ca))
        self.context.load_cert_chain(str(certificate), str(key))

    def request(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> Any:
        """The decoded JSON answer; raises KubeAPIError on a status of 400 or more."""
        connection = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=REQUEST_SECONDS)
        try:
            payload = None if body is None else (body if isinstance(body, str) else json.dumps(body)).encode()
            headers = {"Accept": "application/json", "Content-Type": content_type}
            connection.request(method, path, payload, headers)
            response = connection.getresponse()
            text = response.read().decode()
        finally:
            connection.close()
        if response.status >= 400:
            try:
                message = json.loads(text).get("message", text)
            except json.JSONDecodeError:
                message = text
            raise KubeAPIError(response.status, message)
        return json.loads(text) if text.strip().startswith("{") else text

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def exists(self, path: str) -> bool:
        try:
            self.get(path)
        except KubeAPIError as error:
            if error.status == 404:
                return False
            raise
        return True

    def ready(self) -> bool:
        return self.request("GET", "/readyz") == "ok"

    def create(self, document: dict[str, Any]) -> Any:
        return self.request("POST", collection_path(document), document)

    def items(self, path: str) -> list[dict[str, Any]]:
        return self.get(path)["items"]


def collection_path(document: dict[str, Any]) -> str:
    """The URL path of the collection `document` belongs to."""
    plural = _PLURALS.get(document["kind"], document["kind"].lower() + "s")
    return resources_path(document["apiVersion"], plural, document["metadata"].get("namespace"))


def resources_path(group_version: str, plural: str, namespace: str | None = None) -> str:
    """The URL path of a collection: core or grouped, namespaced or not."""
    prefix = f"/api/{group_version}" if "/" not in group_version else f"/apis/{group_version}"
    return f"{prefix}/namespaces/{namespace}/{plural}" if namespace else f"{prefix}/{plural}"


_PLURALS = {
    "NetworkPolicy": "networkpolicies",
    "Ingress": "ingresses",
    "CustomResourceDefinition": "customresourcedefinitions",
}


def wait_for(condition: Callable[[], Any], what: str, seconds: float) -> Any:
    """The first truthy value of `condition()`, polled for at most `seconds`; AssertionError naming `what`."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds} s")
        time.sleep(0.5)
