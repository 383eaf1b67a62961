"""An offline Pulumi engine: runs the real program in-process and gives its resources real behaviour.

The Pulumi CLI (which owns the engine and downloads provider plugins) cannot run here, so this
stands in for it, on top of the SDK's mock monitor:
- tls and random resources are created for real (offline/tls_provider.py, offline/random_provider.py),
  and Python dynamic resources by their own providers (offline/dynamic_provider.py);
- Kubernetes objects get the names and replacement rules of pulumi-kubernetes (offline/kubernetes_provider.py);
- like the engine, it marks outputs secret when the provider declares them secret
  (`additionalSecretOutputs`) or when the same-named input was secret;
- it keeps state between runs: a resource whose URN, inputs and replacement trigger are unchanged
  keeps its outputs (no new key, no new password), and each run reports what `pulumi up` would do
  to every resource: create, same, update, replace or delete.
"""

import asyncio
import copy
import functools
import runpy
import secrets
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi._types as pulumi_types
from google.protobuf import json_format
from pulumi.runtime import mocks, rpc
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.settings import get_root_resource, reset_options
from pulumi.runtime.sync_await import _sync_await

from offline import dynamic_provider, kubernetes_provider, random_provider, tls_provider

# The SDK derives a resource class's property types (typing.get_type_hints over its annotations and getters) anew
# on every registration. They depend on the class alone, so the offline engine remembers them: a fifth of a
# stack run's time, and the unit tests run hundreds of stacks. (`pulumi up` pays it once per resource.)
pulumi_types._types_from_annotations = functools.cache(pulumi_types._types_from_annotations)
pulumi_types._types_from_py_properties = functools.cache(pulumi_types._types_from_py_properties)

STACK_TYPE = "pulumi:pulumi:Stack"
CREATE = {**tls_provider.CREATE, **random_provider.CREATE}
PROVIDER_SECRET_OUTPUTS = {**tls_provider.SECRET_OUTPUTS, **random_provider.SECRET_OUTPUTS}


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    id: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)
    replacement_trigger: Any = None
    dependencies: list[str] = field(default_factory=list)
    requested_secret_outputs: set[str] = field(default_factory=set)
    """What the program asked to be secret (`additional_secret_outputs`), as sent to the engine."""
    secret_inputs: set[str] = field(default_factory=set)


@dataclass
class RunResult:
    stack_urn: str
    resources: list[Registration]
    operations: dict[str, str]
    deleted: list[Registration]
    outputs: dict[str, Any]
    secret_outputs: set[str]

    def by_type(self, type_: str) -> list[Registration]:
        return [r for r in self.resources if r.type == type_]

    def changes(self) -> dict[str, str]:
        """URN -> operation for every resource a `pulumi up` would touch."""
        changed = {urn: op for urn, op in self.operations.items() if op != "same"}
        changed.update({r.urn: "delete" for r in self.deleted})
        return changed


def _unwrap(value: Any) -> tuple[Any, bool]:
    """Plain value, and whether any part of it was secret."""
    if rpc.is_rpc_secret(value):
        plain, _ = _unwrap(rpc.unwrap_rpc_secret(value))
        return plain, True
    if isinstance(value, dict):
        items = {k: _unwrap(v) for k, v in value.items()}
        return {k: v for k, (v, _) in items.items()}, any(s for _, s in items.values())
    if isinstance(value, list):
        items = [_unwrap(v) for v in value]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


class _Monitor(mocks.MockMonitor):
    def __init__(self, engine: "Engine") -> None:
        super().__init__(_Unused())
        self.engine = engine

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == STACK_TYPE:
            self.engine._stack_urn = urn
            return resource_pb2.RegisterResourceResponse(urn=urn)
        mocks._ensure_event_loop()
        inputs: dict[str, Any] = {}
        secret_inputs: set[str] = set()
        for key, value in rpc.deserialize_properties(request.object).items():
            inputs[key], secret = _unwrap(value)
            if secret:
                secret_inputs.add(key)
        trigger = (
            json_format.MessageToDict(request.replacement_trigger) if request.HasField("replacement_trigger") else None
        )
        registration = Registration(
            urn=urn,
            type=request.type,
            name=request.name,
            parent=request.parent,
            custom=bool(request.custom),
            inputs=inputs,
            replacement_trigger=trigger,
            dependencies=list(request.dependencies),
            requested_secret_outputs=set(request.additionalSecretOutputs),
            secret_inputs=secret_inputs,
        )
        self.engine._step(registration, secret_inputs | set(request.additionalSecretOutputs))
        state = {
            k: rpc.wrap_rpc_secret(v) if k in registration.secret_outputs else v
            for k, v in registration.outputs.items()
        }
        self.resources[urn] = mocks.MockMonitor.ResourceRegistration(urn, registration.id, state)
        return resource_pb2.RegisterResourceResponse(
            urn=urn, id=registration.id, object=_sync_await(rpc.serialize_properties(state, {}))
        )


class _Unused(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        raise AssertionError("the offline engine registers resources itself")

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        raise NotImplementedError(f"offline engine: no invoke support for {args.token}")


class Engine:
    """Runs a Pulumi program like successive `pulumi up`s of one stack, keeping state between runs."""

    def __init__(self, project_dir: Path, project: str, stack: str) -> None:
        self.project_dir = Path(project_dir)
        self.project = project
        self.stack = stack
        self.state: dict[str, Registration] = {}
        self._stack_urn = ""
        self._registered: list[Registration] = []
        self._operations: dict[str, str] = {}

    def run(self, config: Mapping[str, str], secret_keys: tuple[str, ...] = ()) -> RunResult:
        """One `pulumi up` of the project's program with `config` (`<project>:<key>` -> string, as the CLI hands
        it over)."""
        return self.run_program(self._main_program, config, secret_keys)

    def run_program(
        self, program: Callable[[], object], config: Mapping[str, str] | None = None, secret_keys: tuple[str, ...] = ()
    ) -> RunResult:
        """One `pulumi up` of `program` (a function that registers resources, e.g. one component alone)."""
        self._registered, self._operations = [], {}
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            exports = self._execute(program, config or {}, secret_keys)
        finally:
            pulumi.runtime.set_all_config({})
            asyncio.set_event_loop(None)
            loop.close()
        registered = {r.urn for r in self._registered}
        deleted = [r for urn, r in self.state.items() if urn not in registered]
        self.state = {r.urn: r for r in self._registered}
        outputs = {name: value for name, (value, _) in exports.items()}
        return RunResult(
            self._stack_urn,
            list(self._registered),
            dict(self._operations),
            deleted,
            outputs,
            {name for name, (_, secret) in exports.items() if secret},
        )

    def _main_program(self) -> None:
        sys.path.insert(0, str(self.project_dir))
        try:
            runpy.run_path(str(self.project_dir / "__main__.py"), run_name="__main__")
        finally:
            sys.path.remove(str(self.project_dir))

    def _execute(
        self, program: Callable[[], object], config: Mapping[str, str], secret_keys: tuple[str, ...]
    ) -> dict[str, tuple[Any, bool]]:
        reset_options(project=self.project, stack=self.stack, preview=False)
        pulumi.runtime.set_mocks(
            _Unused(), project=self.project, stack=self.stack, preview=False, monitor=_Monitor(self)
        )
        pulumi.runtime.set_all_config(dict(config), list(secret_keys))
        exports: dict[str, tuple[Any, bool]] = {}

        @pulumi.runtime.test
        def program_run() -> Any:
            program()
            return asyncio.ensure_future(_collect_exports(exports))

        program_run()
        return exports

    def _step(self, registration: Registration, secret_keys: set[str]) -> None:
        """Decide what `pulumi up` does to one resource and produce its outputs."""
        old = self.state.get(registration.urn)
        retriggered = old is not None and old.replacement_trigger != registration.replacement_trigger
        if not registration.custom:
            operation = "same" if old else "create"
        elif old is None:
            operation = "create"
        elif dynamic_provider.is_dynamic(registration.type) and not retriggered:
            # The engine asks a dynamic provider even when the inputs are unchanged.
            operation = dynamic_provider.diff(old.id, old.outputs, registration.inputs)
        elif old.inputs == registration.inputs and not retriggered:
            operation = "same"
        elif (
            retriggered
            or not kubernetes_provider.is_kubernetes(registration.type)
            or kubernetes_provider.needs_replacement(registration.type, old.inputs, registration.inputs)
        ):
            operation = "replace"
        else:
            operation = "update"
        registration.outputs = self._outputs(registration, old, operation)
        registration.id = old.id if old and operation in ("same", "update") else self._new_id(registration)
        registration.secret_outputs = {
            k
            for k in registration.outputs
            if k in secret_keys or k in PROVIDER_SECRET_OUTPUTS.get(registration.type, ())
        }
        self._operations[registration.urn] = operation
        self._registered.append(registration)

    def _outputs(self, registration: Registration, old: Registration | None, operation: str) -> dict[str, Any]:
        if not registration.custom:
            return {}
        if operation == "same" and old is not None:
            return copy.deepcopy(old.outputs)
        if kubernetes_provider.is_kubernetes(registration.type):
            if operation == "update" and old is not None:
                return kubernetes_provider.update(old.outputs, registration.inputs)
            return kubernetes_provider.create(registration.type, registration.name, registration.inputs)
        if dynamic_provider.is_dynamic(registration.type):
            if operation == "update" and old is not None:
                return dynamic_provider.update(old.id, old.outputs, registration.inputs)
            return dynamic_provider.create(registration.inputs)
        create = CREATE.get(registration.type)
        if create is None:
            raise NotImplementedError(f"offline engine: no provider behaviour for {registration.type}")
        return create(registration.inputs)

    def _new_id(self, registration: Registration) -> str:
        if kubernetes_provider.is_kubernetes(registration.type):
            metadata = registration.outputs.get("metadata") or {}
            return "/".join(p for p in (metadata.get("namespace"), metadata.get("name")) if p)
        return secrets.token_hex(10)


async def _collect_exports(exports: dict[str, tuple[Any, bool]]) -> None:
    root = get_root_resource()
    for name, value in getattr(root, "outputs", {}).items():
        output = pulumi.Output.from_input(value)
        exports[name] = (await output.future(), await output.is_secret())
