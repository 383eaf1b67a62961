"""Roles for ProxyConfigs built by tests of other things than roles (those are test_roles.py and the role tests of
the real nginx)."""

from secure_flink.domain.roles import Role


def every_caller_an_admin(values: dict, users: tuple[str, ...]) -> dict:
    """`values` with `caller_roles` making every caller an admin: `users` with basic auth, else the allowed
    fingerprints. Given `caller_roles` are kept."""
    if "caller_roles" in values:
        return values
    callers = users if values.get("htpasswd_file") else tuple(values.get("allowed_client_fingerprints") or ())
    return {**values, "caller_roles": tuple((caller, Role.ADMIN) for caller in callers)}
