"""The secure-flink policy pack: every policy is mandatory, so a violation stops `pulumi preview` and `pulumi up`."""

from policies import POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(name="secure-flink-guardrails", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
