"""The secure-flink policy pack: every policy is mandatory, so a violation stops `pulumi preview` and `pulumi up`."""

import io
import sys

# The pack announces its port to the CLI on stdout, which pulumi-policy does not flush: a language host that
# starts the pack without `python -u` (v3.184, the one `make engine` builds) would leave the CLI waiting.
sys.stdout = io.TextIOWrapper(io.FileIO(sys.stdout.fileno(), "w", closefd=False), write_through=True)

from policies import POLICIES  # noqa: E402
from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

PolicyPack(name="secure-flink-guardrails", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
