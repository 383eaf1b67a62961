"""Egress the stack's NetworkPolicies allow beyond its own paths: the API server, and each job's endpoints."""

import ipaddress

from secure_flink.domain.network_policy import EgressRule
from secure_flink.settings.reader import Reader, as_int, read_list, set_hint

EGRESS_FIELDS = frozenset({"cidr", "ports"})
API_SERVER_HINT = (
    "pulumi config set --path 'apiServerCidrs[0]' <address>/32, with the address from: "
    "kubectl get endpoints kubernetes -n default -o jsonpath='{.subsets[*].addresses[*].ip}'"
)


def read_cidr(reader: Reader, key: str, value: object, fix: str) -> str | None:
    """An IPv4 or IPv6 network in CIDR form, host bits zero (what a NetworkPolicy ipBlock accepts)."""
    try:
        if not isinstance(value, str) or "/" not in value:
            raise ValueError("no prefix length")
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError as error:
        reader.fail(key, value, f"must be a network in CIDR form such as 10.0.0.0/16 ({error})", fix)
        return None


def read_api_server_cidrs(reader: Reader, text: str | None) -> tuple[str, ...] | None:
    items = read_list(reader, "apiServerCidrs", text, reason="must be a list of CIDRs", fix=API_SERVER_HINT)
    if items is None:
        return None
    before = len(reader.problems)
    cidrs = [read_cidr(reader, f"apiServerCidrs[{i}]", item, API_SERVER_HINT) for i, item in enumerate(items)]
    return tuple(c for c in cidrs if c) if len(reader.problems) == before else None


def read_egress(reader: Reader, key: str, value: object) -> tuple[EgressRule, ...] | None:
    """A deployment's `egress`: `[{cidr, ports}]`, TCP only, every port named (no "any port")."""
    example = set_hint(f"{key}[0].cidr", "10.20.0.0/16")
    if not isinstance(value, list):
        reader.fail(key, value, "must be a list of {cidr, ports}", example)
        return None
    before, rules = len(reader.problems), []
    for i, item in enumerate(value):
        item_key = f"{key}[{i}]"
        if not isinstance(item, dict):
            reader.fail(item_key, item, "must be a map with cidr and ports", example)
            continue
        reader.unknown_fields(item_key, item, EGRESS_FIELDS)
        cidr = read_cidr(reader, f"{item_key}.cidr", item.get("cidr"), set_hint(f"{item_key}.cidr", "10.20.0.0/16"))
        ports = item.get("ports")
        parsed = [as_int(port) for port in ports] if isinstance(ports, list) else []
        if not parsed or any(port is None or not 1 <= port <= 65535 for port in parsed):
            reader.fail(
                f"{item_key}.ports",
                ports,
                "must be a non-empty list of TCP ports from 1 to 65535",
                set_hint(f"{item_key}.ports[0]", "9093"),
            )
        elif cidr is not None:
            rules.append(EgressRule(cidr=cidr, ports=tuple(port for port in parsed if port is not None)))
    return tuple(rules) if len(reader.problems) == before else None
