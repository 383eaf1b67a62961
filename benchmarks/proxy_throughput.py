"""`make benchmark`: GET /overview directly against Flink REST and through the rendered UI proxy, each way in: basic
auth with each htpasswd scheme, and single sign-on with a session cookie.

Everything runs on 127.0.0.1 from the rendered dev stack (the same layout the integration tests use): one Flink
JobManager, then one nginx per htpasswd scheme, and Dex, oauth2-proxy and nginx for single sign-on
(benchmarks/signed_in.py), each measured with wrk for a bounded time. The ways in that have a goal (basic auth
`ssha`, single sign-on) run twice: with Flink on a core of its own and the proxy's servers and wrk on another (as
pods, each with its CPU), then with every process on every core. Prints a table (requests/s, p50 and p99 latency,
throughput relative to direct in the same layout, p50 added by the proxy, and the CPU each process spent per
request) and writes it to build/benchmark/proxy.json.

    python -m benchmarks.proxy_throughput [--seconds 10] [--connections 4]
"""

import argparse
import base64
import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from benchmarks.cpu import children_cpu_seconds, pin_session, session_cpu_seconds
from benchmarks.signed_in import RunningProxy, signed_in_proxy
from secure_flink.domain.htpasswd import HashScheme
from tests.conftest import PROJECT_DIR, StackRunner, require_tool
from tests.integration.software.local_flink import LocalFlinkCluster, rest_ca_file
from tests.integration.software.local_nginx import LocalNginx, free_port, scratch_dir
from tests.integration.software.proxy_from_render import local_proxy_conf

DEPLOYMENT = "adhoc"
OUT = PROJECT_DIR / "build" / "benchmark"
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
WARM_UP_RUNS = 4
"""Flink's JIT speeds its REST handler up five-fold over the first 40 s or so of load: four runs, not reported."""
ROUNDS = 3
"""Flink's own throughput drifts by ±15% from one run to the next, and more when another tenant of the machine
takes CPU: each way in is measured right after a direct run, in three rounds, and the table shows the median."""
PROCESSES = ("Flink", "nginx", "oauth2-proxy", "wrk")
"""Whose CPU per request the table shows, in this order."""


@dataclass(frozen=True)
class Run:
    """One bounded wrk run: throughput, latency (ms), and the CPU each process spent per request (µs)."""

    requests: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    cpu_us_per_request: dict[str, int] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class Layout:
    """Which cores the servers run on. `pods`: Flink on one core, the proxy's servers on another, as in a cluster
    where each is a pod with a CPU of its own; wrk shares the proxy's core, so the proxy is never flattered by an
    idle core. `shared`: every process on every core, the way a laptop runs them."""

    name: str
    flink: frozenset[int]
    proxies: frozenset[int]
    """Also wrk's."""


@dataclass(frozen=True)
class Row:
    """A line of the table: a way in, in one layout, at its median round."""

    layout: str
    path: str
    run: Run
    """The median round's run."""
    relative_throughput: float
    """Median over the rounds of (its requests/s over the direct run's just before it)."""
    added_p50_ms: float
    """Median over the rounds of its p50 less the direct run's."""
    rounds: int

    def as_json(self) -> dict[str, object]:
        return {
            "layout": self.layout,
            "path": self.path,
            **dataclasses.asdict(self.run),
            "relative_throughput": self.relative_throughput,
            "added_p50_ms": self.added_p50_ms,
            "rounds": self.rounds,
        }


def layouts() -> list[Layout]:
    """`pods` first (the goal's measure) if there are two cores to give, then `shared`."""
    cpus = sorted(os.sched_getaffinity(0))
    shared = Layout("shared", frozenset(cpus), frozenset(cpus))
    if len(cpus) < 2:
        print("one core only: no `pods` layout", file=sys.stderr)
        return [shared]
    return [Layout("pods", frozenset(cpus[:1]), frozenset(cpus[1:2])), shared]


def wrk(url: str, seconds: int, connections: int, headers: Sequence[str] = ()) -> Run:
    options = [option for header in headers for option in ("-H", header)]
    threads = min(2, connections)  # wrk needs a connection per thread
    command = ["wrk", *options, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency"]
    output = subprocess.run([*command, url], capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return Run(
        requests=int(_found(r"(\d+) requests in", output)[1]),
        requests_per_second=float(_found(r"Requests/sec:\s+([\d.]+)", output)[1]),
        p50_ms=_milliseconds(_found(r"^\s+50%\s+([\d.]+)(us|ms|s)", output)),
        p99_ms=_milliseconds(_found(r"^\s+99%\s+([\d.]+)(us|ms|s)", output)),
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
    )


def _found(pattern: str, output: str) -> re.Match[str]:
    match = re.search(pattern, output, re.M)
    if match is None:
        raise RuntimeError(f"wrk's output lacks {pattern!r}:\n{output}")
    return match


def _milliseconds(match: re.Match[str]) -> float:
    return float(match[1]) * UNITS[match[2]]


def measured(
    url: str,
    seconds: int,
    connections: int,
    sessions: Mapping[str, int],
    headers: Sequence[str] = (),
    client_cpus: frozenset[int] | None = None,
) -> Run:
    """One wrk run (on `client_cpus`, if given), with the CPU that each of `sessions` (name -> session id of a
    server's processes) and wrk itself spent per request during it."""
    before = {name: session_cpu_seconds(session) for name, session in sessions.items()}
    wrk_before = children_cpu_seconds()
    own = os.sched_getaffinity(0)
    os.sched_setaffinity(0, client_cpus or own)  # wrk inherits this process's cores
    try:
        result = wrk(url, seconds, connections, headers)
    finally:
        os.sched_setaffinity(0, own)
    spent = {name: session_cpu_seconds(session) - before[name] for name, session in sessions.items()}
    spent["wrk"] = children_cpu_seconds() - wrk_before
    cpu = {name: round(cpu_seconds * 1e6 / max(result.requests, 1)) for name, cpu_seconds in spent.items()}
    return dataclasses.replace(result, cpu_us_per_request=cpu)


def run(seconds: int, connections: int) -> list[Row]:
    """In each layout, ROUNDS rounds of each way in that the issue sets a goal for, each right after a direct run;
    then the slow htpasswd schemes (shared cores). Table rows, relative to direct in their layout."""
    require_tool("wrk", "the benchmark drives load with wrk")
    nginx = require_tool("nginx", "the benchmark measures the real proxy")
    runner = StackRunner("dev")
    # wrk presents no client certificate, so direct requests need Flink's REST API under REST TLS (the proxy's
    # hop to Flink then carries no client certificate either), and the proxy the one a Route reaches (behind
    # an Ingress it requires the controller's certificate): reencrypt, without a host, serves /<deployment>/.
    for item in runner.values["deployments"]:
        item["restAuthentication"] = "tls"
    runner.values.update(platform="openshift", uiRouteTermination="reencrypt")
    first = runner.up()
    rows: list[Row] = []
    with scratch_dir() as flink_dir:
        cluster = LocalFlinkCluster.from_render(first, DEPLOYMENT, flink_dir)
        flink = {"Flink": cluster.start("jobmanager", "jm").process.pid}
        try:
            ca_file = rest_ca_file(first, DEPLOYMENT, flink_dir)
            cluster.wait_for_taskmanagers(0, ca_file, f"{DEPLOYMENT}-rest.flink.svc")
            direct_url = f"https://127.0.0.1:{cluster.rest_port}/overview"
            for _ in range(WARM_UP_RUNS):
                wrk(direct_url, seconds, connections)
            with ExitStack() as running:
                ways = {
                    "proxy, basic auth `ssha`": running.enter_context(
                        basic_auth_proxy(runner, HashScheme.SSHA, nginx, cluster.rest_port)
                    ),
                    "proxy, single sign-on (session cookie)": running.enter_context(
                        signed_in_proxy(runner, DEPLOYMENT, nginx, cluster.rest_port)
                    ),
                }
                for layout in layouts():
                    pin_session(flink["Flink"], layout.flink)
                    for way in ways.values():
                        for session in way.sessions.values():
                            pin_session(session, layout.proxies)
                    time.sleep(0.5)
                    pairs: dict[str, list[tuple[Run, Run]]] = {path: [] for path in ways}
                    for _ in range(ROUNDS):
                        for path, way in ways.items():
                            direct = measured(direct_url, seconds, connections, flink, client_cpus=layout.proxies)
                            sessions = {**flink, **way.sessions}
                            proxied = measured(way.url, seconds, connections, sessions, way.headers, layout.proxies)
                            pairs[path].append((direct, proxied))
                    rows += _layout_rows(layout.name, pairs)
            slow = []
            for scheme in HashScheme:
                if scheme is not HashScheme.SSHA:
                    with basic_auth_proxy(runner, scheme, nginx, cluster.rest_port) as way:
                        direct = measured(direct_url, seconds, connections, flink)
                        proxied = measured(way.url, seconds, connections, {**flink, **way.sessions}, way.headers)
                        slow.append(_row("shared", f"proxy, basic auth `{scheme.value}`", [(direct, proxied)]))
        finally:
            cluster.stop()
    return [*rows, *slow]


def _layout_rows(layout: str, pairs: dict[str, list[tuple[Run, Run]]]) -> list[Row]:
    """The median direct run of the layout, then each way in at its median round."""
    directs = sorted((direct for rounds in pairs.values() for direct, _ in rounds), key=lambda r: r.requests_per_second)
    median = directs[len(directs) // 2]
    return [
        Row(layout, "direct Flink REST (TLS)", median, relative_throughput=1.0, added_p50_ms=0.0, rounds=len(directs)),
        *(_row(layout, path, rounds) for path, rounds in pairs.items()),
    ]


def _row(layout: str, path: str, rounds: list[tuple[Run, Run]]) -> Row:
    """`path` in the round whose throughput relative to the direct run just before it is the median; that ratio,
    and the median of the p50 each round added."""
    ratios = sorted(
        ((proxied.requests_per_second / direct.requests_per_second, proxied) for direct, proxied in rounds),
        key=lambda pair: pair[0],
    )
    added = sorted(proxied.p50_ms - direct.p50_ms for direct, proxied in rounds)
    ratio, run = ratios[len(ratios) // 2]
    return Row(
        layout,
        path,
        run,
        relative_throughput=round(ratio, 3),
        added_p50_ms=round(added[len(added) // 2], 3),
        rounds=len(rounds),
    )


@contextmanager
def basic_auth_proxy(runner: StackRunner, scheme: HashScheme, nginx: str, rest_port: int) -> Iterator[RunningProxy]:
    """The UI proxy with basic auth, its htpasswd in `scheme`, running in front of Flink's REST API on `rest_port`,
    and the admin's credentials."""
    result = runner.up(uiHashScheme=scheme.value)  # same Flink material; only the htpasswd changes
    password = result.outputs["uiGeneratedPasswords"][DEPLOYMENT]["admin"]
    header = "Authorization: Basic " + base64.b64encode(f"admin:{password}".encode()).decode()
    with scratch_dir() as root:
        port = free_port()
        conf = local_proxy_conf(result, f"{DEPLOYMENT}-ui", root, listen_port=port, upstream_port=rest_port)
        with LocalNginx(nginx, conf, root, port) as proxy:
            assert proxy.process is not None
            time.sleep(0.5)
            yield RunningProxy(
                url=f"https://127.0.0.1:{port}/{DEPLOYMENT}/overview",
                headers=(header,),
                sessions={"nginx": proxy.process.pid},
            )


def table(rows: list[Row]) -> str:
    cpu_columns = " | ".join(f"{name} µs/req" for name in PROCESSES)
    lines = [
        f"| cores | path | req/s | p50 ms | p99 ms | vs direct | added p50 ms | {cpu_columns} | non-2xx |",
        "|---|---|---|---|---|---|---|" + "---|" * len(PROCESSES) + "---|",
    ]
    for row in rows:
        r, cpu = row.run, row.run.cpu_us_per_request
        spent = " | ".join(str(cpu[name]) if name in cpu else "–" for name in PROCESSES)
        lines.append(
            f"| {row.layout} | {row.path} | {r.requests_per_second:.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | "
            f"{row.relative_throughput:.2f} | {row.added_p50_ms:.2f} | {spent} | {r.non_2xx} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args(argv)
    before = os.getloadavg()
    rows = run(args.seconds, args.connections)
    after = os.getloadavg()
    OUT.mkdir(parents=True, exist_ok=True)
    report = {
        "cpus": os.cpu_count(),
        "load_average_before": before,
        "load_average_after": after,
        "rows": [row.as_json() for row in rows],
    }
    (OUT / "proxy.json").write_text(json.dumps(report, indent=2) + "\n")
    print(table(rows))
    print(f"\n{os.cpu_count()} CPUs; load average (1, 5, 15 min) before {_loads(before)}, after {_loads(after)}")
    return 0


def _loads(averages: tuple[float, float, float]) -> str:
    return " ".join(f"{average:.2f}" for average in averages)


if __name__ == "__main__":
    sys.exit(main())
