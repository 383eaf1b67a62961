"""What is wrong with a value, said the same way wherever it comes from: stack config or a component's arguments.

A Problem names the key (or argument field), the bad value, why it cannot work, and the fix. ConfigError carries
every problem found, so one run reports them all. The rules are the functions beside each value type (names,
images, sizes, TLS policy) that return why a value is refused, or None: the settings reader and the components'
Args call the same ones.
"""

import json
from dataclasses import dataclass

PROJECT = "secure-flink"


@dataclass(frozen=True)
class Problem:
    key: str
    value: object
    reason: str
    fix: str
    scope: str = f"{PROJECT}:"
    """What the key belongs to: `secure-flink:` for stack config, `<Args class>.` for a component's arguments."""

    def __str__(self) -> str:
        return f"{self.scope}{self.key} = {json.dumps(self.value, default=str)}: {self.reason}. Fix: {self.fix}"


class ConfigError(ValueError):
    """Configuration that cannot work. Lists every problem: key, bad value, fix."""

    def __init__(self, problems: list[Problem], what: str = "stack configuration") -> None:
        self.problems = problems
        super().__init__(f"invalid {what}:\n" + "\n".join(f"  - {p}" for p in problems))


class ArgumentChecks:
    """The problems with one Args value, raised together by `raise_any` before a component registers anything."""

    def __init__(self, args: object) -> None:
        self._name = type(args).__name__
        self.problems: list[Problem] = []

    def check(self, field: str, value: object, reason: str | None, fix: str) -> None:
        """Records `reason` (a rule's verdict) as a problem of `field`; None means the value passed."""
        if reason is not None:
            self.problems.append(Problem(field, value, reason, fix, scope=f"{self._name}."))

    def raise_any(self) -> None:
        if self.problems:
            raise ConfigError(self.problems, self._name)
