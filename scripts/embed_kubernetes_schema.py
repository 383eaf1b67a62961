"""Writes the two files the Kubernetes provider's main embeds, as its `go generate` step would.

    python3 scripts/embed_kubernetes_schema.py MODULE_CMD_DIR VERSION SCHEMA_OUT MAPPING_OUT

The schema is the module's committed schema.json with its version set (the provider reports it from
GetSchema); the mapping is terraform-mapping.json re-serialized compactly.
"""

import json
import sys
from pathlib import Path


def main(command_dir: str, version: str, schema_out: str, mapping_out: str) -> None:
    source = Path(command_dir)
    schema = json.loads((source / "schema.json").read_text())
    schema["version"] = version
    Path(schema_out).write_text(json.dumps(schema, separators=(",", ":")))
    mapping = json.loads((source / "terraform-mapping.json").read_text())
    Path(mapping_out).write_text(json.dumps(mapping, separators=(",", ":")))


if __name__ == "__main__":
    main(*sys.argv[1:])
