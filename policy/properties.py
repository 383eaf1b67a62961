"""Reading resource properties as a policy receives them: read-only proxies of maps and lists, where any
field may be missing or of another type than the schema says."""

from collections.abc import Mapping, Sequence
from typing import Any


def as_map(value: Any) -> Mapping[str, Any]:
    """`value` if it is a map (a dict or the engine's proxy of one), else an empty map."""
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any) -> Sequence[Any]:
    """`value` if it is a list (a list or the engine's proxy of one), else an empty list; never a string."""
    return value if isinstance(value, Sequence) and not isinstance(value, str) else []
