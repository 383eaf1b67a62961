"""Reading raw config values: problems are collected, not raised, so one run reports them all."""

import difflib
import json
import re
from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any, TypeVar

from secure_flink.domain import names
from secure_flink.domain.images import image_problem
from secure_flink.settings.model import Problem

E = TypeVar("E", bound=Enum)


class Reader:
    """Collects problems instead of stopping at the first, so one run reports them all."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        """What is read, but better said otherwise: logged on every `pulumi up`, refused never."""

    def fail(self, key: str, value: object, reason: str, fix: str) -> None:
        self.problems.append(Problem(key, value, reason, fix))

    def warn(self, key: str, value: object, reason: str, fix: str) -> None:
        self.warnings.append(Problem(key, value, reason, fix))

    def enum(self, key: str, value: object, enum: type[E], fix: str) -> E | None:
        for member in enum:
            if value == member.value:
                return member
        allowed = ", ".join(str(m.value) for m in enum)
        self.fail(key, value, f"must be one of {allowed}", fix)
        return None

    def integer(self, key: str, value: object, *, minimum: int, fix: str, maximum: int | None = None) -> int | None:
        parsed = as_int(value)
        if parsed is None or parsed < minimum or (maximum is not None and parsed > maximum):
            bounds = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
            self.fail(key, value, f"must be a whole number {bounds}", fix)
            return None
        return parsed

    def label(self, key: str, value: object, *, max_length: int, fix: str) -> str | None:
        problem = names.dns1035_problem(value, max_length)
        if problem is not None:
            self.fail(key, value, problem, fix)
            return None
        return str(value)

    def unknown_fields(self, key: str, value: Mapping[str, Any], allowed: frozenset[str]) -> None:
        for extra in sorted(set(value) - allowed):
            intended = closest_name(extra, allowed)
            if intended in value:
                fix = f"remove it ({intended} is set already)"
            else:
                fix = f"rename it to {intended}" if intended else "remove it"
            self.fail(
                f"{key}.{extra}",
                value[extra],
                "is not a known field",
                f"{fix}; known fields: {', '.join(sorted(allowed))}",
            )


def closest_name(typed: str, known: Iterable[str]) -> str | None:
    """The known name `typed` most likely misspells (case and a few letters aside), or None if none is close."""
    by_folded = {name.casefold(): name for name in known}
    matches = difflib.get_close_matches(typed.casefold(), by_folded, n=1, cutoff=0.75)
    return by_folded[matches[0]] if matches else None


def as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]+", value.strip()):
        return int(value)
    return None


def as_number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def path_key(parent: str, name: str) -> str:
    """The `--path` of `name` inside `parent`: `parent.name`, or `parent["name"]` when the CLI would split `name`
    (it reads a bare name up to the next '.' or '[', and knows no other escape)."""
    if name and not re.search(r'[.\[\]"]', name):
        return f"{parent}.{name}"
    quoted = name.replace('"', '\\"')
    return f'{parent}["{quoted}"]'


def set_hint(path: str, example: str) -> str:
    return f"pulumi config set --path '{path}' {example}"


def read_list(
    reader: Reader, key: str, text: str | None, *, reason: str, fix: str, non_empty: bool = False
) -> list[Any] | None:
    """The JSON list a config key holds, or None after reporting one problem: text that is not JSON, or a
    value that is not a list (or is empty, with `non_empty`)."""
    try:
        items = json.loads(text) if text is not None else None
    except json.JSONDecodeError as error:
        reader.fail(key, text, f"is not valid JSON ({error.msg})", "set it as YAML in Pulumi.<stack>.yaml")
        return None
    if not isinstance(items, list) or (non_empty and not items):
        reader.fail(key, items, reason, fix)
        return None
    return items


def read_image(reader: Reader, key: str, value: object, example: str) -> str | None:
    problem = image_problem(value)
    if problem is not None:
        reader.fail(key, value, problem, set_hint(key, example))
        return None
    return str(value)


def read_namespace(reader: Reader, key: str, value: str | None, suggestion: str) -> str | None:
    """`suggestion`: a valid namespace free of those this one must differ from."""
    problem = names.namespace_problem(value)
    if problem is not None:
        reader.fail(key, value, problem, f"pulumi config set {key} {suggestion}")
        return None
    return value
