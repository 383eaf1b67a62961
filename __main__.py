"""secure-flink: one stack per environment. Reads and validates the stack config, builds the platform, exports
what users connect with (URLs, CAs, REST client bundles, UI users)."""

import pulumi

from secure_flink.components import SecureFlinkPlatform, SecureFlinkPlatformArgs
from secure_flink.settings import PulumiConfig, read_settings

settings = read_settings(PulumiConfig())
for warning in settings.warnings:
    pulumi.log.warn(str(warning))
platform = SecureFlinkPlatform("secure-flink", SecureFlinkPlatformArgs(settings=settings))
for name, value in platform.stack_outputs.items():
    pulumi.export(name, value)
