"""`make render`: `pulumi up` of a stack on the real engine, rendering YAML instead of calling a cluster.

    python -m local_stack.render --stack dev --out build/dev [--show-secrets] [--project-dir DIR]

The stack lives in <out>/pulumi/ (program copy, stack file, file-backend state, the provider's YAML), so the
next render of the same stack is an update of it: `pulumi up --diff` prints exactly what changed since.
Writes <out>/manifests.yaml (every object, dependency order) and <out>/outputs.json, secret values
replaced by a placeholder unless --show-secrets. The stack file's configuration is checked first:
invalid configuration exits 2 naming the key, the value and the fix, and nothing is written or run.
The engine binaries come from PULUMI_ENGINE_BIN (`make engine` sets it).
"""

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from local_stack.project import PROJECT, PROJECT_DIR, PulumiError, PulumiProject
from local_stack.state_view import state_view
from offline.engine import RunResult
from offline.render import kubernetes_objects, write_render
from offline.stack_config import StackConfigError, load_stack_config
from secure_flink.settings import ConfigError, MappingConfig, read_settings


def check_config(project_dir: Path, stack: str) -> None:
    """The stack file's configuration as the program will read it; StackConfigError or ConfigError if bad."""
    config = load_stack_config(project_dir, stack)
    prefix = f"{PROJECT}:"
    values = {key[len(prefix) :]: value for key, value in config.values.items() if key.startswith(prefix)}
    read_settings(MappingConfig(values, tuple(key[len(prefix) :] for key in config.secret_keys)))


def in_dependency_order(documents: list[dict[str, Any]], result: RunResult) -> list[dict[str, Any]]:
    """The rendered objects, each after the objects it depends on (the state's dependency order)."""

    def identity(document: dict[str, Any]) -> tuple[str, str, str]:
        metadata = document.get("metadata") or {}
        return document.get("kind", ""), metadata.get("namespace", ""), metadata.get("name", "")

    position = {identity(r.outputs): index for index, r in enumerate(kubernetes_objects(result))}
    return sorted(documents, key=lambda document: position.get(identity(document), len(position)))


def render(project_dir: Path, stack: str, out: Path, engine_bin: Path, show_secrets: bool) -> None:
    """`pulumi up --diff` of the stack kept in `out`, its output printed as it comes; then writes the files."""
    out.mkdir(parents=True, exist_ok=True)
    project = PulumiProject(out / "pulumi", stack, engine_bin, source=project_dir)
    if not project.created:
        project.install_program(project_dir)
    project.adopt_config(project_dir / f"Pulumi.{stack}.yaml")
    # Progress as resources complete, then the diff of what changed.
    update = project.run("up", "--yes", "--diff", check=False, echo=lambda line: print(line, end="", flush=True))
    if update.returncode != 0:
        raise PulumiError(f"pulumi up exited {update.returncode} (its output is above):\n{update.stderr}")
    result = state_view(project)
    documents = in_dependency_order(project.rendered_documents(), result)
    write_render(result, out, show_secrets, documents)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--show-secrets", action="store_true")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help="the program and its stack files")
    args = parser.parse_args(argv)
    engine_bin = os.environ.get("PULUMI_ENGINE_BIN")
    if not engine_bin:
        print("error: PULUMI_ENGINE_BIN is not set: run `make render` (it builds the engine)", file=sys.stderr)
        return 2
    try:
        check_config(args.project_dir, args.stack)
    except (StackConfigError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    # The render's own keys and passwords, and the provider's YAML with Secrets in plain text: for you only.
    os.umask(0o077)
    out = args.out.resolve()
    try:
        render(args.project_dir.resolve(), args.stack, out, Path(engine_bin), args.show_secrets)
    except PulumiError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {out / 'manifests.yaml'} and {out / 'outputs.json'}; the stack is kept in {out / 'pulumi'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
