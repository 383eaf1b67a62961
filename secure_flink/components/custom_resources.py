"""Typed access to the outputs of a `k8s.apiextensions.CustomResource` (a FlinkDeployment, an OpenShift Route)."""

from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s


def output(resource: k8s.apiextensions.CustomResource, name: Literal["metadata", "spec"]) -> pulumi.Output[Any]:
    """The output `name` of `resource` as the engine resolves it: the object's field as plain dicts and lists (None
    while the object has none), unknown in a preview until the resource exists.

    CustomResource has no schema, so pulumi-kubernetes declares none of these outputs: the engine sets them as
    attributes at run time, which a type checker cannot see. Any, not a narrower type: the custom resource
    definition, not the SDK, decides what the value holds.
    """
    value: pulumi.Output[Any] = getattr(resource, name)
    return value
