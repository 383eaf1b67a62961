"""One stack of the secure-flink program under the real Pulumi CLI, in a directory of its own.

The program and its stack file are copied in (the passphrase provider writes its salt into the stack file);
state lives in a local file backend beside them; the engine binaries in `engine_bin` come first on PATH, and
there is no update check and no plugin download. The Kubernetes provider renders YAML into `rendered/` instead
of calling a cluster, unless the stack is given a kubeconfig. Opening the directory again continues the same
stack.
"""

import json
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from subprocess import PIPE
from typing import IO, Any

import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROJECT = "secure-flink"
PROGRAM = ("__main__.py", "Pulumi.yaml", "secure_flink", "policy")
# Where earlier versions kept the program's packages: an upgrade from one removes them.
EARLIER_PROGRAM = ("components", "settings")
# What protects a local stack's secrets unless PULUMI_CONFIG_PASSPHRASE is set: its keys and passwords are
# its own, made for tests and renders, never a deployed stack's.
PASSPHRASE = "secure-flink-local-stack"
RENDER_DIRECTORY_KEY = "kubernetes:renderYamlToDirectory"
KUBECONFIG_KEY = "kubernetes:kubeconfig"
# Where the Kubernetes provider sends the stack's objects: the local stack's own, not the user's.
TARGET_KEYS = (RENDER_DIRECTORY_KEY, KUBECONFIG_KEY)


class PulumiError(RuntimeError):
    """A pulumi command failed; the message carries its output."""


class PulumiWorkspace:
    """`pulumi` commands in one project directory under `root`, on the engine in `engine_bin`, with state, home
    and plugins of its own: no update check, no plugin download."""

    def __init__(self, root: Path, engine_bin: Path) -> None:
        self.root = root
        self.project = root / "project"
        self.state = root / "state"
        for directory in (self.project, self.state, root / "home"):
            directory.mkdir(parents=True, exist_ok=True)
        self.env = {
            "PATH": f"{engine_bin}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(root / "home"),
            "PULUMI_HOME": str(root / "home" / ".pulumi"),
            "PULUMI_BACKEND_URL": self.state.as_uri(),
            "PULUMI_CONFIG_PASSPHRASE": os.environ.get("PULUMI_CONFIG_PASSPHRASE", PASSPHRASE),
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_SKIP_CONFIRMATIONS": "true",
            "NO_COLOR": "1",
            "LANG": "C.UTF-8",
        }

    def run(
        self, *args: str, check: bool = True, timeout: float = 600, echo: Callable[[str], None] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """`pulumi ARGS` in the project, each stdout line also handed to `echo` as it comes; raises PulumiError
        with the output when `check` and it fails."""
        command = ["pulumi", *args, "--non-interactive", "--color", "never"]
        # A session of its own: on a timeout, the plugins the CLI started (each in a process group of its
        # own) stop with it.
        process = subprocess.Popen(
            command, cwd=self.project, env=self.env, stdout=PIPE, stderr=PIPE, text=True, start_new_session=True
        )
        stdout: list[str] = []
        stderr: list[str] = []
        readers = [
            threading.Thread(target=_follow, args=(process.stdout, stdout, echo), daemon=True),
            threading.Thread(target=_follow, args=(process.stderr, stderr, None), daemon=True),
        ]
        for reader in readers:
            reader.start()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_session(process.pid)
            process.wait()
            raise PulumiError(f"pulumi {' '.join(args)} ran longer than {timeout} s") from None
        finally:
            for reader in readers:
                reader.join()
        result = subprocess.CompletedProcess(command, process.returncode, "".join(stdout), "".join(stderr))
        if check and result.returncode != 0:
            raise PulumiError(f"pulumi {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result


class PulumiProject(PulumiWorkspace):
    """`pulumi` commands against one stack of the secure-flink program; `config` edits the stack file as a user
    would."""

    def __init__(
        self, root: Path, stack: str, engine_bin: Path, source: Path = PROJECT_DIR, kubeconfig: Path | None = None
    ) -> None:
        """The stack in `root`: created with the program and stack file of `source`, or, if `root` already
        holds it, reopened with its state (call `install_program` and `adopt_config` to bring changes in).
        A new stack renders YAML, or with `kubeconfig` deploys to that cluster."""
        super().__init__(root, engine_bin)
        self.stack = stack
        self.rendered = root / "rendered"
        self.created = not self.stack_file.exists()
        """Whether this opening made the stack (with `source`'s program and stack file)."""
        if not self.created:
            return
        self.install_program(source)
        shutil.copy2(source / f"Pulumi.{stack}.yaml", self.stack_file)
        # The program's virtualenv: the project's own, with the pinned SDKs.
        (self.project / ".venv").symlink_to(PROJECT_DIR / ".venv")
        self.run("stack", "init", stack, "--secrets-provider", "passphrase")
        if kubeconfig is None:
            self.run("config", "set", RENDER_DIRECTORY_KEY, str(self.rendered))
        else:
            self.run("config", "set", KUBECONFIG_KEY, str(kubeconfig))

    def install_program(self, source: Path) -> None:
        """Puts the program in `source` in place of the current one, as a user upgrading does; the stack file
        and the state stay."""
        for name in (*PROGRAM, *EARLIER_PROGRAM):
            target = self.project / name
            if target.is_dir():
                shutil.rmtree(target)
            target.unlink(missing_ok=True)
            if not (source / name).exists():
                continue
            if (source / name).is_dir():
                shutil.copytree(source / name, target, ignore=shutil.ignore_patterns("__pycache__", "venv"))
            else:
                shutil.copy2(source / name, target)
        # The policy pack's virtualenv: the project's own too.
        (self.project / "policy" / "venv").symlink_to(PROJECT_DIR / ".venv")

    def adopt_config(self, stack_file: Path) -> None:
        """Takes the `config:` of `stack_file` (the one a user edits) whole, keeping this stack's encryption
        salt and where its objects go (render directory or cluster)."""
        document = yaml.safe_load(self.stack_file.read_text())
        config = (yaml.safe_load(stack_file.read_text()) or {}).get("config") or {}
        target = {key: value for key, value in document["config"].items() if key in TARGET_KEYS}
        config = {key: value for key, value in config.items() if key not in TARGET_KEYS}
        document["config"] = {**config, **target}
        self.stack_file.write_text(yaml.safe_dump(document, sort_keys=False))

    @property
    def stack_file(self) -> Path:
        return self.project / f"Pulumi.{self.stack}.yaml"

    def config(self) -> dict[str, Any]:
        """The stack's `secure-flink:` settings, keys without the project prefix."""
        values = yaml.safe_load(self.stack_file.read_text())["config"]
        prefix = f"{PROJECT}:"
        return {k[len(prefix) :]: v for k, v in values.items() if k.startswith(prefix)}

    def set_config(self, **values: Any) -> None:
        """Sets `secure-flink:<key>` for each keyword (None removes the key), keeping every other key."""
        document = yaml.safe_load(self.stack_file.read_text())
        for key, value in values.items():
            if value is None:
                document["config"].pop(f"{PROJECT}:{key}", None)
            else:
                document["config"][f"{PROJECT}:{key}"] = value
        self.stack_file.write_text(yaml.safe_dump(document, sort_keys=False))

    def up(self) -> subprocess.CompletedProcess[str]:
        return self.run("up", "--yes", "--skip-preview", "--suppress-progress")

    def preview(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("preview", "--suppress-progress", *args, check=check)

    def plan(self) -> dict[str, str]:
        """What `pulumi preview` would do to each resource it would change: URN -> operation."""
        return {step["urn"]: step["op"] for step in self.plan_steps()}

    def plan_steps(self) -> list[dict[str, Any]]:
        """The steps of `pulumi preview --json` that change something (op, urn, diffReasons, ...)."""
        result = self.run("preview", "--json")
        return [step for step in json.loads(result.stdout).get("steps", []) if step["op"] != "same"]

    def export(self, *, show_secrets: bool = False) -> dict[str, Any]:
        return json.loads(self.run("stack", "export", *(["--show-secrets"] if show_secrets else [])).stdout)

    def outputs(self, *, show_secrets: bool = False) -> dict[str, Any]:
        args = ["stack", "output", "--json"] + (["--show-secrets"] if show_secrets else [])
        return json.loads(self.run(*args).stdout)

    def rendered_documents(self) -> list[dict[str, Any]]:
        """Every object the Kubernetes provider rendered, in file order."""
        documents = []
        for path in sorted(self.rendered.rglob("*.yaml")):
            documents.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
        return documents


def _follow(stream: IO[str], lines: list[str], echo: Callable[[str], None] | None) -> None:
    for line in stream:
        lines.append(line)
        if echo is not None:
            echo(line)


def _kill_session(session: int) -> None:
    """SIGKILL to every process of the session `session` leads."""
    for entry in Path("/proc").iterdir():
        try:
            # Fields after the parenthesized command name: state, ppid, pgrp, session, ...
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if entry.name.isdigit() and int(fields[3]) == session:
                os.kill(int(entry.name), signal.SIGKILL)
        except (OSError, IndexError, ValueError):
            continue
