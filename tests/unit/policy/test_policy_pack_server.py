"""The policy pack as the Pulumi CLI runs it: `python -m pulumi.policy <engine> policy/`, a gRPC analyzer
on 127.0.0.1 that the engine sends every resource to. Here the test is the engine."""

import subprocess
import sys
from collections.abc import Iterator

import grpc
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from offline.render import manifest
from tests.conftest import PROJECT_DIR, StackRunner

INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
STARTUP_SECONDS = 60


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    pack = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(PROJECT_DIR / "policy")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = pack.stdout.readline().strip()
        assert port.isdigit(), pack.stderr.read() if pack.poll() is not None else f"no port, got {port!r}"
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=STARTUP_SECONDS)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        pack.terminate()
        pack.wait(timeout=10)


def analyze(stub: analyzer_pb2_grpc.AnalyzerStub, resource_type: str, props: dict, name: str):
    request = analyzer_pb2.AnalyzeRequest(
        type=resource_type,
        properties=json_format.ParseDict(props, struct_pb2.Struct()),
        urn=f"urn:pulumi:dev::secure-flink::{resource_type}::{name}",
        name=name,
    )
    return stub.Analyze(request, timeout=30).diagnostics


def test_the_pack_starts_and_declares_its_policies_mandatory(analyzer):
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
    assert info.name == "secure-flink-guardrails"
    assert len(info.policies) == 5
    assert {p.enforcementLevel for p in info.policies} == {analyzer_pb2.MANDATORY}


def test_the_engine_gets_no_diagnostic_for_any_resource_of_the_stack(analyzer):
    result = StackRunner("ocp").up(restClients=[{"name": "ci"}])
    resources = [r for r in result.resources if r.custom]
    diagnostics = {r.name: list(analyze(analyzer, r.type, manifest(r), r.name)) for r in resources}
    assert {name: d for name, d in diagnostics.items() if d} == {}
    assert len(resources) > 70


def test_the_engine_gets_a_mandatory_diagnostic_for_an_ingress_without_tls(analyzer):
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "plain", "namespace": "flink"},
        "spec": {"rules": [{"host": "flink.example.com"}]},
    }
    (diagnostic,) = analyze(analyzer, INGRESS, ingress, "plain")
    assert diagnostic.policyName == "ingress-and-route-require-tls"
    assert diagnostic.enforcementLevel == analyzer_pb2.MANDATORY
    assert diagnostic.message.endswith("\nplain: Ingress has no spec.tls: it serves plain HTTP")
    assert "  " not in diagnostic.description
