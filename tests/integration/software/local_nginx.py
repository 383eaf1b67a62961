"""Real nginx on 127.0.0.1, run the way the pod runs it: as a non-root user, writing only inside its working dir.

Under root (this machine, CI containers) nginx is started through `setpriv` as `nobody`, and the working
dir is handed to that user; so the working dir must be reachable by others (use `scratch_dir()`, not
pytest's private tmp_path). nginx's own stdout (access log) and stderr (error log) go to files there.

`access_log /dev/stdout` reopens fd 1 through /proc, which checks the permissions of what fd 1 is: a pipe
made by root is refused to nobody. In a pod, runc/crun chown the container's stdio to the container user
(runc `fixStdioPermissions`), so there it works; here stdout and stderr are files owned by nobody.
"""

import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOOPBACK = "127.0.0.1"
START_SECONDS = 20
STOP_SECONDS = 10


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


@contextmanager
def scratch_dir() -> Iterator[Path]:
    """A fresh directory under the system temp dir, which a dropped-privilege nginx can reach; removed at exit."""
    path = Path(tempfile.mkdtemp(prefix="secure-flink-nginx-"))
    # Traversable, not listable: nginx as nobody reaches its own working dir inside, nothing else.
    path.chmod(0o711)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _as_unprivileged(command: list[str], workdir: Path) -> list[str]:
    """`command` run as nobody when we are root, with `workdir` (recursively) owned by nobody."""
    if os.geteuid() != 0:
        return command
    user = pwd.getpwnam("nobody")
    try:
        gid = grp.getgrnam("nogroup").gr_gid
    except KeyError:
        gid = user.pw_gid
    for path in [workdir, *workdir.rglob("*")]:
        os.chown(path, user.pw_uid, gid)
    setpriv = shutil.which("setpriv") or "setpriv"
    return [setpriv, f"--reuid={user.pw_uid}", f"--regid={gid}", "--clear-groups", *command]


def _command(nginx: str, workdir: Path, *extra: str) -> list[str]:
    return [nginx, "-p", str(workdir), "-c", str(workdir / "nginx.conf"), "-e", str(workdir / "error.log"), *extra]


def check_config(nginx: str, config_text: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    """`nginx -t` on `config_text` (written to `workdir`/nginx.conf), as the unprivileged user; output in `.stderr`."""
    (workdir / "nginx.conf").write_text(config_text)
    output = workdir / "check.log"
    output.touch()
    command = _as_unprivileged(_command(nginx, workdir, "-t"), workdir)
    with open(output, "ab") as sink:
        # Files the user owns, not pipes: see the module docstring.
        completed = subprocess.run(command, stdout=sink, stderr=sink, timeout=START_SECONDS)
    return subprocess.CompletedProcess(command, completed.returncode, "", output.read_text(errors="replace"))


class LocalNginx:
    """Context manager: nginx with `config_text` in the foreground, ready when `port` on 127.0.0.1 accepts."""

    def __init__(self, nginx: str, config_text: str, workdir: Path, port: int) -> None:
        self.nginx = nginx
        self.config_text = config_text
        self.workdir = workdir
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> "LocalNginx":
        (self.workdir / "nginx.conf").write_text(self.config_text)
        for name in ("stdout.log", "stderr.log", "error.log"):
            (self.workdir / name).touch()
        command = _as_unprivileged(_command(self.nginx, self.workdir, "-g", "daemon off;"), self.workdir)
        with open(self.workdir / "stdout.log", "ab") as out, open(self.workdir / "stderr.log", "ab") as err:
            # Own session: the workers share the master's process group, so one killpg reaches them all.
            self.process = subprocess.Popen(command, stdout=out, stderr=err, start_new_session=True)
        try:
            self._wait_until_listening()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _wait_until_listening(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.process.returncode}:\n{self.error_log()}")
            with socket.socket() as probe:
                probe.settimeout(0.5)
                if probe.connect_ex((LOOPBACK, self.port)) == 0:
                    return
            time.sleep(0.05)
        raise TimeoutError(
            f"nginx did not listen on {LOOPBACK}:{self.port} within {START_SECONDS} s:\n{self.error_log()}"
        )

    def stop(self) -> None:
        """Graceful QUIT, then KILL of the whole process group if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGQUIT)
        try:
            self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=STOP_SECONDS)

    def error_log(self) -> str:
        """Everything nginx logged as errors: the startup log (-e) and stderr, where the rendered config sends them."""
        return "".join((self.workdir / name).read_text(errors="replace") for name in ("error.log", "stderr.log"))

    def access_log(self) -> str:
        return (self.workdir / "stdout.log").read_text(errors="replace")
