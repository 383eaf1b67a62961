"""`make benchmark`: GET /overview directly against Flink REST and through the rendered proxy, per hash scheme.

Everything runs on 127.0.0.1 from the rendered dev stack (the same layout the integration tests
use): one Flink JobManager, then one nginx per htpasswd scheme, each measured with wrk for a
bounded time. Prints a table (requests/s, p50 and p99 latency, throughput relative to direct, p50
added by the proxy) and writes it to build/benchmark/proxy.json.

    python -m benchmarks.proxy_throughput [--seconds 10] [--connections 4]
"""

import argparse
import base64
import json
import re
import subprocess
import sys
import time

from secure_flink.domain.htpasswd import HashScheme
from tests.conftest import PROJECT_DIR, StackRunner, require_tool
from tests.integration.software.local_flink import LocalFlinkCluster, rest_ca_file
from tests.integration.software.local_nginx import LocalNginx, free_port, scratch_dir
from tests.integration.software.proxy_from_render import local_proxy_conf

DEPLOYMENT = "adhoc"
OUT = PROJECT_DIR / "build" / "benchmark"
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, seconds: int, connections: int, header: str | None = None) -> dict[str, float]:
    """Requests/s and latency percentiles (ms) of one bounded wrk run."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency", url]
    if header:
        command[1:1] = ["-H", header]
    output = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    result = {"requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}
    for percentile in ("50", "99"):
        value, unit = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)", output, re.M).groups()
        result[f"p{percentile}_ms"] = float(value) * UNITS[unit]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    result["non_2xx"] = int(non_2xx.group(1)) if non_2xx else 0
    return result


def run(seconds: int, connections: int) -> list[dict[str, object]]:
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
    rows: list[dict[str, object]] = []
    with scratch_dir() as flink_dir:
        cluster = LocalFlinkCluster.from_render(first, DEPLOYMENT, flink_dir)
        cluster.start("jobmanager", "jm")
        try:
            ca_file = rest_ca_file(first, DEPLOYMENT, flink_dir)
            cluster.wait_for_taskmanagers(0, ca_file, f"{DEPLOYMENT}-rest.flink.svc")
            direct_url = f"https://127.0.0.1:{cluster.rest_port}/overview"
            wrk(direct_url, seconds, connections)  # JIT warm-up, not reported
            before = wrk(direct_url, seconds, connections)
            for scheme in HashScheme:
                rows.append(
                    {
                        "path": f"proxy, {scheme.value}",
                        **proxied(runner, scheme, nginx, cluster.rest_port, seconds, connections),
                    }
                )
            after = wrk(direct_url, seconds, connections)
        finally:
            cluster.stop()
    # The faster direct run is the baseline: the proxy is never flattered by a cold JVM.
    direct = max(before, after, key=lambda r: r["requests_per_second"])
    rows.insert(0, {"path": "direct Flink REST (TLS), baseline", **direct})
    rows.insert(
        1, {"path": "direct Flink REST (TLS), other run", **min(before, after, key=lambda r: r["requests_per_second"])}
    )
    for row in rows:
        row["relative_throughput"] = round(row["requests_per_second"] / direct["requests_per_second"], 3)
        row["added_p50_ms"] = round(row["p50_ms"] - direct["p50_ms"], 3)
    return rows


def proxied(
    runner: StackRunner, scheme: HashScheme, nginx: str, rest_port: int, seconds: int, connections: int
) -> dict[str, float]:
    result = runner.up(uiHashScheme=scheme.value)  # same Flink material; only the htpasswd changes
    password = result.outputs["uiGeneratedPasswords"][DEPLOYMENT]["admin"]
    header = "Authorization: Basic " + base64.b64encode(f"admin:{password}".encode()).decode()
    with scratch_dir() as root:
        port = free_port()
        conf = local_proxy_conf(result, f"{DEPLOYMENT}-ui", root, listen_port=port, upstream_port=rest_port)
        with LocalNginx(nginx, conf, root, port):
            time.sleep(0.5)
            return wrk(f"https://127.0.0.1:{port}/{DEPLOYMENT}/overview", seconds, connections, header)


def table(rows: list[dict[str, object]]) -> str:
    lines = ["| path | req/s | p50 ms | p99 ms | vs direct | added p50 ms | non-2xx |", "|---|---|---|---|---|---|---|"]
    lines += [
        f"| {r['path']} | {r['requests_per_second']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
        f"{r['relative_throughput']:.2f} | {r['added_p50_ms']:.2f} | {r['non_2xx']} |"
        for r in rows
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args(argv)
    rows = run(args.seconds, args.connections)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "proxy.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
