"""Serves secure-flink's components to Pulumi programs in any language (schema inferred from their typed args)."""

import sys
from pathlib import Path

# The package this directory publishes: the secure_flink directory of the same checkout.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi.provider.experimental import component_provider_host  # noqa: E402

from secure_flink import __version__  # noqa: E402
from secure_flink.package.flink_platform import FlinkPlatform  # noqa: E402
from secure_flink.package.flink_tls import FlinkTLS  # noqa: E402

if __name__ == "__main__":
    component_provider_host(components=[FlinkPlatform, FlinkTLS], name="secureflink", version=__version__)
