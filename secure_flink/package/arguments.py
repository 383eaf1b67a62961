"""How a package component reads its arguments: as the stack config reads its keys, with problems said in a
program's terms (`FlinkPlatform.rsaBits`, `set rsaBits: 3072`) instead of the CLI's; and how it hands maps of
outputs back."""

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import TypedDict

import pulumi

from secure_flink.domain.problems import PROJECT, Problem
from secure_flink.settings.defaults import DEFAULTS


# `X | None`, not NotRequired: what the SDK's schema inference reads as optional.
class TlsArguments(TypedDict, total=False):
    """The stack config's TLS keys, in the package's snake_case: the same meanings, defaults and checks."""

    key_algorithm: str | None
    rsa_bits: int | None
    ecdsa_curve: str | None
    tls_protocol: str | None
    ca_validity_hours: int | None
    cert_validity_hours: int | None
    cert_early_renewal_hours: int | None
    tls_rotation: str | None


def stack_config(component: str, args: Mapping[str, object], keys: Iterable[str] = DEFAULTS) -> dict[str, object]:
    """`args` as stack config values of `keys` (camelCase, the defaults for what is not given). A value that is not
    known yet (an Output) cannot be validated, so it is refused."""
    given = {camel_case(key): value for key, value in args.items() if value is not None}
    unknown = [key for key, value in given.items() if isinstance(value, pulumi.Output)]
    if unknown:
        raise ValueError(
            f"{component} arguments {', '.join(unknown)} must be known values (literals or stack config), "
            "not outputs of other resources: the whole configuration is validated before anything is registered"
        )
    return {key: whole_numbers(given[key]) if key in given else DEFAULTS[key] for key in keys}


def whole_numbers(value: object) -> object:
    """Pulumi passes every number as a float: the whole ones become ints again, as the stack config has them."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [whole_numbers(item) for item in value]
    if isinstance(value, dict):
        return {key: whole_numbers(item) for key, item in value.items()}
    return value


STACK_SCOPE = f"{PROJECT}:"
# `pulumi config set [--secret] [--path] 'key' value`: what a stack user runs, and a program writes `key: value`.
_CONFIG_SET = re.compile(r"pulumi config set (?:--secret )?(?:--path )?'?(?P<key>[^' ]+)'? (?P<value>'[^']*'|\S+)")
# `field='value'` or `field=3`: how a Python component's Args problems say a fix.
_PYTHON_ARGUMENT = re.compile(r"\b(?P<field>[a-z][a-z0-9_]*)(?P<index>\[\d+\])?=(?P<value>'[^']*'|[^\s,;]+)")


def as_argument(problem: Problem, component: str) -> Problem:
    """A stack config problem, or one of a Python component's Args, as one of `component`'s properties: the same
    value and reason; the key and the fix in a program's terms."""
    if problem.scope == STACK_SCOPE:
        fix = _CONFIG_SET.sub(lambda m: f"set {m['key']}: {m['value']}", problem.fix)
        return dataclasses.replace(problem, scope=f"{component}.", fix=fix)
    fix = _PYTHON_ARGUMENT.sub(lambda m: f"set {camel_case(m['field'])}{m['index'] or ''}: {m['value']}", problem.fix)
    key = re.sub(r"^[a-z][a-z0-9_]*", lambda m: camel_case(m.group()), problem.key)
    return dataclasses.replace(problem, key=key, scope=f"{component}.", fix=fix)


def camel_case(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


TLS_KEYS = tuple(camel_case(name) for name in TlsArguments.__annotations__)
"""The stack config keys of TlsArguments."""


def resolved_map(outputs: dict[str, pulumi.Output[str]]) -> pulumi.Output[dict[str, str]]:
    """One output of the map `outputs` holds, for a component output typed as a map."""
    # Output.all of no outputs is an empty list, not an empty map.
    return pulumi.Output.all(**outputs) if outputs else pulumi.Output.from_input({})
