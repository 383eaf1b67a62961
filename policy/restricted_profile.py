"""The Pod Security Standards' restricted profile (which includes baseline), checked on a pod spec.

Pure: a pod spec in, the list of what breaks the profile out. Follows the Kubernetes Pod Security
Standards page (policy version "latest"); Windows-only fields are out of scope.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from properties import as_list, as_map

ALLOWED_VOLUME_SOURCES = frozenset(
    {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}
)
ALLOWED_SECCOMP = frozenset({"RuntimeDefault", "Localhost"})
ALLOWED_ADDED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
ALLOWED_SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    }
)
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def containers(pod: Mapping[str, Any]) -> Iterable[tuple[str, Mapping[str, Any]]]:
    for field in CONTAINER_LISTS:
        for container in as_list(pod.get(field)):
            container = as_map(container)
            yield f"{field}[{container.get('name', '?')}]", container


def violations(pod: Mapping[str, Any]) -> list[str]:
    """What in this pod spec breaks the restricted profile; empty when it complies."""
    found = _pod_level(pod)
    pod_context = as_map(pod.get("securityContext"))
    for where, container in containers(pod):
        found += [f"{where}: {problem}" for problem in _container(container, pod_context)]
    return found


def _pod_level(pod: Mapping[str, Any]) -> list[str]:
    found = [f"spec.{field} must not be true" for field in ("hostNetwork", "hostPID", "hostIPC") if pod.get(field)]
    for volume in as_list(pod.get("volumes")):
        volume = as_map(volume)
        sources = set(volume) - {"name"}
        if not sources <= ALLOWED_VOLUME_SOURCES:
            found.append(f"volume {volume.get('name')}: {', '.join(sorted(sources))} is not an allowed volume type")
    context = as_map(pod.get("securityContext"))
    if context.get("runAsUser") == 0:
        found.append("spec.securityContext.runAsUser must not be 0")
    found += _selinux(context, "spec.securityContext")
    for sysctl in as_list(context.get("sysctls")):
        name = as_map(sysctl).get("name")
        if name not in SAFE_SYSCTLS:
            found.append(f"sysctl {name} is not in the safe set")
    seccomp = as_map(context.get("seccompProfile")).get("type")
    if seccomp is not None and seccomp not in ALLOWED_SECCOMP:
        found.append(f"spec.securityContext.seccompProfile.type {seccomp} must be RuntimeDefault or Localhost")
    return found


def _selinux(context: Mapping[str, Any], where: str) -> list[str]:
    options = as_map(context.get("seLinuxOptions"))
    found = [f"{where}.seLinuxOptions.{field} must not be set" for field in ("user", "role") if options.get(field)]
    if options.get("type", "") not in ALLOWED_SELINUX_TYPES:
        found.append(f"{where}.seLinuxOptions.type {options.get('type')} is not allowed")
    return found


def _container(container: Mapping[str, Any], pod_context: Mapping[str, Any]) -> list[str]:
    context = as_map(container.get("securityContext"))
    found: list[str] = []
    if context.get("privileged"):
        found.append("privileged must not be true")
    if context.get("allowPrivilegeEscalation") is not False:
        found.append("securityContext.allowPrivilegeEscalation must be false")
    if context.get("runAsNonRoot", pod_context.get("runAsNonRoot")) is not True:
        found.append("runAsNonRoot must be true (in the container or the pod securityContext)")
    if context.get("runAsUser") == 0:
        found.append("securityContext.runAsUser must not be 0")
    seccomp = as_map(context.get("seccompProfile") or pod_context.get("seccompProfile")).get("type")
    if seccomp not in ALLOWED_SECCOMP:
        found.append("seccompProfile.type must be RuntimeDefault or Localhost (in the container or the pod)")
    capabilities = as_map(context.get("capabilities"))
    if "ALL" not in as_list(capabilities.get("drop")):
        found.append("securityContext.capabilities.drop must include ALL")
    added = set(as_list(capabilities.get("add"))) - ALLOWED_ADDED_CAPABILITIES
    if added:
        found.append(f"securityContext.capabilities.add may only hold NET_BIND_SERVICE, not {', '.join(sorted(added))}")
    if context.get("procMount", "Default") != "Default":
        found.append("securityContext.procMount must be Default")
    if as_map(context.get("appArmorProfile")).get("type") == "Unconfined":
        found.append("securityContext.appArmorProfile.type must not be Unconfined")
    found += _selinux(context, "securityContext")
    for port in as_list(container.get("ports")):
        if as_map(port).get("hostPort"):
            found.append(f"port {as_map(port).get('containerPort')} must not use a hostPort")
    return found
