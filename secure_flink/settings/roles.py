"""The `role` of a UI user or a REST client: granted by the stack config, never assumed."""

from secure_flink.domain.roles import DEFAULT_ROLE, Role
from secure_flink.settings.reader import Reader, set_hint


def read_role(reader: Reader, key: str, holder: object, role: object, *, before: str, suggested: Role) -> Role:
    """The role at `<key>.role`; unset, the default role with a warning on every `up` that says what `holder`
    could do `before` (when nobody had a role) and suggests `suggested`."""
    if role is None:
        reader.warn(
            f"{key}.role",
            None,
            f"is not set, so {holder} is a {DEFAULT_ROLE.value}: reads only (before 0.13 {before})",
            f"say which: {set_hint(f'{key}.role', suggested.value)} (one of {', '.join(r.value for r in Role)})",
        )
        return DEFAULT_ROLE
    return reader.enum(f"{key}.role", role, Role, set_hint(f"{key}.role", suggested.value)) or DEFAULT_ROLE
