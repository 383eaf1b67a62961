"""The role each route of Flink 2.2's REST API and Web UI needs: an allow-list for viewers and operators; every
other request (unknown routes included) needs an admin.

What shapes it (measured on Flink 2.2.1; README, "Roles"):
- GET is not read-only in Flink: `GET /jobs/:jobid/yarn-cancel` cancels a job (the Web UI's own Cancel button
  uses it), and `GET /jars/:jarid/plan` runs the jar's main() in the JobManager.
- Flink percent-decodes the path twice and treats a decoded `/` or `?` as structure: `/cl%2575ster` reaches
  `DELETE /cluster`. So the rules match the raw request target, and no rule for viewers or operators admits a
  `%`, an empty segment or a dot segment: such a path is an admin's, whatever it decodes to.
- Every API route is served at `/x` and `/v1/x`; the Web UI's static files only at the root.
- The query string never selects a route; it is admitted whole.
"""

import re
from dataclasses import dataclass

from secure_flink.domain.roles import Role

# What a path parameter may be in a rule. None admits `%`, and none admits a segment that starts with a dot.
PARAMETERS = {
    "jobid": "[0-9a-fA-F]{32}",
    "vertexid": "[0-9a-fA-F]{32}",
    "triggerid": "[0-9a-fA-F]{32}",
    "checkpointid": "[0-9]+",
    "subtaskindex": "[0-9]+",
    "attempt": "[0-9]+",
    # `127.0.0.1:35213-8538f1` standalone, a pod name on Kubernetes.
    "taskmanagerid": "[A-Za-z0-9][A-Za-z0-9_.:-]*",
    "filename": "[A-Za-z0-9][A-Za-z0-9_.-]*",
}
_PARAMETER = re.compile(r":([a-z]+)")
_TEMPLATE = re.compile(r"(/([a-z-]+|:[a-z]+))+")


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    """Flink's template, `/jobs/:jobid/vertices/:vertexid`; parameters from PARAMETERS."""
    role: Role
    """The least role that may call it."""


def _routes(role: Role, method: str, *paths: str) -> list[Route]:
    return [Route(method, path, role) for path in paths]


_JOB = "/jobs/:jobid"
_VERTEX = f"{_JOB}/vertices/:vertexid"
_SUBTASK = f"{_VERTEX}/subtasks/:subtaskindex"
_TASKMANAGER = "/taskmanagers/:taskmanagerid"

API_ROUTES: tuple[Route, ...] = (
    *_routes(
        Role.VIEWER,
        "GET",
        "/config",
        "/overview",
        "/jobs",
        "/jobs/overview",
        "/jobs/metrics",
        "/jobmanager/config",
        "/jobmanager/metrics",
        "/jobmanager/log",
        "/jobmanager/stdout",
        "/jobmanager/logs",
        "/jobmanager/logs/:filename",
        _JOB,
        f"{_JOB}/accumulators",
        f"{_JOB}/checkpoints",
        f"{_JOB}/checkpoints/config",
        f"{_JOB}/checkpoints/details/:checkpointid",
        f"{_JOB}/checkpoints/details/:checkpointid/subtasks/:vertexid",
        f"{_JOB}/checkpoints/:triggerid",
        f"{_JOB}/config",
        f"{_JOB}/exceptions",
        f"{_JOB}/execution-result",
        f"{_JOB}/jobmanager/config",
        f"{_JOB}/jobmanager/log-url",
        f"{_JOB}/metrics",
        f"{_JOB}/plan",
        f"{_JOB}/resource-requirements",
        f"{_JOB}/savepoints/:triggerid",
        f"{_JOB}/status",
        f"{_JOB}/taskmanagers/:taskmanagerid/log-url",
        _VERTEX,
        f"{_VERTEX}/accumulators",
        # Both may start sampling the running tasks: load, not state. The job page shows them.
        f"{_VERTEX}/backpressure",
        f"{_VERTEX}/flamegraph",
        f"{_VERTEX}/jm-operator-metrics",
        f"{_VERTEX}/metrics",
        f"{_VERTEX}/subtasks/accumulators",
        f"{_VERTEX}/subtasks/metrics",
        f"{_VERTEX}/subtasktimes",
        f"{_VERTEX}/taskmanagers",
        f"{_VERTEX}/watermarks",
        _SUBTASK,
        f"{_SUBTASK}/metrics",
        f"{_SUBTASK}/attempts/:attempt",
        f"{_SUBTASK}/attempts/:attempt/accumulators",
        "/taskmanagers",
        "/taskmanagers/metrics",
        _TASKMANAGER,
        f"{_TASKMANAGER}/metrics",
        f"{_TASKMANAGER}/log",
        f"{_TASKMANAGER}/stdout",
        f"{_TASKMANAGER}/logs",
        f"{_TASKMANAGER}/logs/:filename",
        "/datasets",
        "/datasets/delete/:triggerid",
        "/savepoint-disposal/:triggerid",
    ),
    # The jobs that are there: end them, save them, resize them.
    *_routes(Role.OPERATOR, "PATCH", _JOB, f"{_JOB}/rescaling"),
    # The Web UI's Cancel button; yarn-stop has no effect in 2.2 but is the same handler.
    *_routes(Role.OPERATOR, "GET", f"{_JOB}/yarn-cancel", f"{_JOB}/yarn-stop", f"{_JOB}/rescaling/:triggerid"),
    *_routes(Role.OPERATOR, "POST", f"{_JOB}/stop", f"{_JOB}/savepoints", f"{_JOB}/checkpoints"),
    *_routes(Role.OPERATOR, "PUT", f"{_JOB}/resource-requirements"),
    # Diagnostics that expose the JVM (arguments, threads) or load it (the profiler, when enabled).
    *_routes(
        Role.OPERATOR,
        "GET",
        "/jobmanager/environment",
        "/jobmanager/thread-dump",
        "/jobmanager/profiler",
        "/jobmanager/profiler/:filename",
        f"{_JOB}/jobmanager/environment",
        f"{_TASKMANAGER}/thread-dump",
        f"{_TASKMANAGER}/profiler",
        f"{_TASKMANAGER}/profiler/:filename",
        # The jar list (names only); showing a jar's plan runs it, so that stays an admin's.
        "/jars",
    ),
    *_routes(Role.OPERATOR, "POST", "/jobmanager/profiler", f"{_TASKMANAGER}/profiler"),
)
"""Every route a viewer or operator may call. Not listed, so an admin's: `POST /jobs` (job submission), the jar
routes but the list (upload, run, plan, delete), `DELETE /cluster`, `POST /savepoint-disposal` (deletes any path
the JobManager reaches), `DELETE /datasets/:datasetid`, and the Flink client's internal routes
(`PATCH /jobs/:jobid/clientHeartbeat`, `POST /jobs/:jobid/coordinators/:operatorUid`)."""

WEB_UI_FILES = (
    "/",
    "/index.html",
    "/3rdpartylicenses.txt",
    # Angular's bundles: main, runtime, polyfills, common and numbered lazy chunks, each with a 16-hex build hash.
    "/[a-z0-9]+\\.[0-9a-f]{16}\\.(js|css)",
    # Images, favicons and the Monaco editor the log viewers use: segments that never start with a dot.
    "/assets(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)+",
)
"""The Web UI's static files (GET, at the root only, as Flink serves them), as regular expressions."""


def path_pattern(template: str) -> str:
    """The regular expression of a route template's paths: its parameters replaced by what they may be."""
    if not _TEMPLATE.fullmatch(template):
        raise ValueError(f"{template!r} is not a route template of lower-case segments and :parameters")
    return _PARAMETER.sub(lambda m: f"(?:{PARAMETERS[m.group(1)]})", template)


def request_pattern(route: Route, prefix: str = "/") -> str:
    """An anchored regular expression of `METHOD <request target>` for `route` behind `prefix` ("/" or "/<name>/",
    which the proxy strips): at `/x` or `/v1/x`, with any query string."""
    return f"^{route.method} {prefix.rstrip('/')}(/v1)?{path_pattern(route.path)}(\\?.*)?$"


def web_ui_pattern(file_pattern: str, prefix: str = "/") -> str:
    """An anchored regular expression of a GET of one of WEB_UI_FILES behind `prefix`, with any query string."""
    return f"^GET {prefix.rstrip('/')}(?:{file_pattern})(\\?.*)?$"


def needed_role(method: str, target: str, prefix: str = "/") -> Role:
    """The least role that may send `method target` (the raw request target, as the client sent it) through a
    proxy serving Flink at `prefix`. The nginx maps say the same in nginx's terms; tests hold the two equal."""
    request = f"{method} {target}"
    if any(re.match(web_ui_pattern(f, prefix), request) for f in WEB_UI_FILES):
        return Role.VIEWER
    for role in (Role.VIEWER, Role.OPERATOR):
        if any(re.match(request_pattern(r, prefix), request) for r in API_ROUTES if r.role is role):
            return role
    return Role.ADMIN
