"""Which role each request needs (secure_flink/domain/flink_routes.py), as Flink 2.2 routes requests."""

import itertools

import pytest

from secure_flink.domain.flink_routes import API_ROUTES, PARAMETERS, Route, needed_role, path_pattern
from secure_flink.domain.roles import Role

JOB = "0f4c2b1e9d8a7c6b5a4f3e2d1c0b9a88"
VERTEX = "cbc357ccb763df2852fee8c4fc7d55f2"
SAMPLES = {
    "jobid": JOB,
    "vertexid": VERTEX,
    "triggerid": "5b1a2e0f9c8d7e6f5a4b3c2d1e0f9a8b",
    "checkpointid": "7",
    "subtaskindex": "0",
    "attempt": "1",
    "taskmanagerid": "127.0.0.1:35213-8538f1",
    "filename": "flink.log",
}


def sample_path(route: Route) -> str:
    path = route.path
    for name, value in SAMPLES.items():
        path = path.replace(f":{name}", value)
    return path


def test_every_parameter_has_a_sample_and_a_rule() -> None:
    assert set(SAMPLES) == set(PARAMETERS)


def test_each_route_is_listed_once_and_viewers_only_read() -> None:
    keys = [(r.method, r.path) for r in API_ROUTES]
    assert len(keys) == len(set(keys))
    assert {r.method for r in API_ROUTES if r.role is Role.VIEWER} == {"GET"}
    assert Role.ADMIN not in {r.role for r in API_ROUTES}, "admin routes are everything not listed"


@pytest.mark.parametrize("route", API_ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_each_listed_route_needs_its_role_at_the_root_under_v1_and_with_a_query(route: Route) -> None:
    path = sample_path(route)
    for target in (path, f"/v1{path}", f"{path}?get=a,b"):
        assert needed_role(route.method, target) is route.role, target


@pytest.mark.parametrize("route", API_ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_another_method_on_a_listed_path_is_an_admins(route: Route) -> None:
    listed = {(r.method, r.path) for r in API_ROUTES}
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", route.method.lower()):
        if (method, route.path) not in listed:
            assert needed_role(method, sample_path(route)) is Role.ADMIN, (method, route.path)


@pytest.mark.parametrize(
    ("method", "target", "role"),
    [
        ("GET", "/", Role.VIEWER),
        ("GET", "/index.html", Role.VIEWER),
        ("GET", "/main.6cd446413e0aff84.js", Role.VIEWER),
        ("GET", "/9227.ade964fa14be6564.js", Role.VIEWER),
        ("GET", "/styles.25112ea718f4efbe.css", Role.VIEWER),
        ("GET", "/assets/favicon/favicon.ico", Role.VIEWER),
        ("GET", "/assets/vs/basic-languages/sql/sql.js", Role.VIEWER),
        ("GET", f"/jobs/{JOB}/yarn-cancel", Role.OPERATOR),
        ("PATCH", f"/jobs/{JOB}?mode=cancel", Role.OPERATOR),
        ("POST", f"/jobs/{JOB}/stop", Role.OPERATOR),
        ("PUT", f"/jobs/{JOB}/resource-requirements", Role.OPERATOR),
        ("GET", "/jars", Role.OPERATOR),
        ("POST", "/jars/upload", Role.ADMIN),
        ("POST", "/jars/3f0c_job.jar/run", Role.ADMIN),
        ("GET", "/jars/3f0c_job.jar/plan", Role.ADMIN),
        ("POST", "/jobs", Role.ADMIN),
        ("DELETE", "/cluster", Role.ADMIN),
        ("POST", "/savepoint-disposal", Role.ADMIN),
        ("PATCH", f"/jobs/{JOB}/clientHeartbeat", Role.ADMIN),
        ("GET", "/v1/index.html", Role.ADMIN),
    ],
)
def test_the_web_ui_reads_operators_run_jobs_admins_run_code(method: str, target: str, role: Role) -> None:
    assert needed_role(method, target) is role


@pytest.mark.parametrize(
    ("method", "target"),
    [
        # Each of these reaches the cancel handler, or the shutdown, when sent to Flink 2.2.1 directly.
        ("GET", f"/jobs/{JOB}/yarn-c%2561ncel"),
        ("GET", f"/jobs/{JOB}/yarn-c%61ncel"),
        ("GET", f"/jobs/{JOB}%2Fyarn-cancel"),
        ("GET", f"/jobs%2F{JOB}%2Fyarn-cancel"),
        ("GET", f"/jobs/{JOB}/yarn-cancel%3Fx"),
        ("GET", f"/jobs/{JOB}/yarn-cancel/"),
        ("GET", f"//jobs/{JOB}/yarn-cancel"),
        ("DELETE", "/cl%2575ster"),
        ("PATCH", f"/jobs%2F{JOB}"),
        # Read routes in a disguise a viewer has no need for.
        ("GET", "/%6Fverview"),
        ("GET", "/jobs%2Foverview"),
        ("GET", "/overview/"),
        ("GET", "//overview"),
        ("GET", "/./overview"),
        ("GET", f"/overview/../jobs/{JOB}"),
        ("GET", "/jobmanager/logs/..%252fetc%252fpasswd"),
        ("GET", "/jobmanager/logs/.."),
        ("GET", "/OVERVIEW"),
        ("get", "/overview"),
        ("HEAD", "/overview"),
    ],
)
def test_encoded_doubled_or_dotted_paths_and_odd_methods_are_an_admins(method: str, target: str) -> None:
    assert needed_role(method, target) is Role.ADMIN


def test_behind_a_prefix_the_same_rules_hold_under_it_and_nothing_outside() -> None:
    assert needed_role("GET", "/etl/overview", "/etl/") is Role.VIEWER
    assert needed_role("GET", "/etl/", "/etl/") is Role.VIEWER
    assert needed_role("GET", f"/etl/v1/jobs/{JOB}/yarn-cancel", "/etl/") is Role.OPERATOR
    assert needed_role("GET", "/overview", "/etl/") is Role.ADMIN
    assert needed_role("GET", "/etl/overview", "/") is Role.ADMIN


def test_each_role_may_call_what_it_and_the_roles_below_it_may() -> None:
    allowed = {(holder, needed) for holder, needed in itertools.product(Role, Role) if holder.may_call(needed)}
    assert allowed == {
        (Role.VIEWER, Role.VIEWER),
        (Role.OPERATOR, Role.VIEWER),
        (Role.OPERATOR, Role.OPERATOR),
        (Role.ADMIN, Role.VIEWER),
        (Role.ADMIN, Role.OPERATOR),
        (Role.ADMIN, Role.ADMIN),
    }


@pytest.mark.parametrize("template", ["/jobs/:unknown", "/Jobs", "jobs", "/jobs//x", "/jobs/%2F"])
def test_a_template_outside_the_rules_is_refused(template: str) -> None:
    with pytest.raises((ValueError, KeyError)):
        path_pattern(template)
