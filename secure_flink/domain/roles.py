"""Who may do what through the proxies: three roles, each allowed everything the one before it is.

Flink has no users: whoever reaches its REST API may upload and run code. The proxies in front of it decide, per
request, from the caller's role and the route (secure_flink/domain/flink_routes.py says which role each route
needs).
"""

from enum import Enum


class Role(str, Enum):
    VIEWER = "viewer"
    """Reads: the Web UI, overview, jobs, metrics, logs, configuration. Changes nothing, runs no code."""
    OPERATOR = "operator"
    """A viewer who also runs the jobs that are there: cancel, stop with a savepoint, trigger savepoints and
    checkpoints, rescale; and the diagnostics that load the cluster (thread dumps, profiler, environment)."""
    ADMIN = "admin"
    """Everything the cluster allows, including uploading and running jars, submitting jobs and shutting the
    cluster down."""

    def may_call(self, needed: "Role") -> bool:
        """Whether this role may call a route that needs `needed`."""
        return _RANK[self] >= _RANK[needed]


# Declared from least to most: each role may do what the ones before it may.
_RANK = {role: rank for rank, role in enumerate(Role)}

DEFAULT_ROLE = Role.VIEWER
"""A role is granted, never assumed: a user or client without one reads only."""
