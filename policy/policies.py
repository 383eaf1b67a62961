"""The pack's policies: each wires one guardrail into a ResourceValidationPolicy."""

from collections.abc import Callable, Mapping
from typing import Any

import guardrails
from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

Guardrail = Callable[[str, Mapping[str, Any]], list[str]]


def _policy(name: str, guardrail: Guardrail) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for problem in guardrail(args.resource_type, args.props):
            report_violation(f"{args.name}: {problem}", None)

    return ResourceValidationPolicy(
        name=name,
        description=" ".join((guardrail.__doc__ or name).split("\n\n")[0].split()),
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
    )


POLICIES = [
    _policy("ingress-and-route-require-tls", guardrails.ingress_or_route_without_tls),
    _policy("flink-internal-ssl", guardrails.flink_without_internal_ssl),
    _policy("flink-rest-ssl", guardrails.flink_without_rest_ssl),
    _policy("proxy-verifies-upstream", guardrails.proxy_not_verifying_upstream),
    _policy("pod-restricted-profile", guardrails.pod_outside_restricted_profile),
]
