"""Headless Chromium (Debian's `chromium`) driven by playwright-core, for tests that use a page as a person does.

A test lists steps (`goto`, `click`, `fill`, `upload`, `wait_for`, `wait_for_url`, `text`, `screenshot`, below) and
`Chromium.run` plays them in a fresh browser through `tests/browser/drive.mjs` (`make browser` installs its
playwright-core), which answers with an `Outcome`: each step's result, every response the page received (method, URL,
status), and the page's URL at the end. Selectors are Playwright's (CSS with `:has-text()`, `text=...`).

The browser trusts only the CAs the test names, through an NSS db in a temporary HOME (what Chromium on Linux
reads): no certificate error is ignored, so a page that loads has a certificate that verified for its host. The
host names the test names resolve to 127.0.0.1 (`--host-resolver-rules`), so a page is reached by the name its
certificate carries; no other name resolves. Each run is bounded (a timeout per step, one for the whole run) and
ends every process it started. As root, Chromium runs without its sandbox (Playwright's default): it only loads the
test's own pages.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.conftest import PROJECT_DIR, require_tool, unavailable

DRIVER_DIR = PROJECT_DIR / "tests" / "browser"
DRIVER = DRIVER_DIR / "drive.mjs"
SCREENSHOT_DIR = PROJECT_DIR / "build" / "screenshots"
STEP_SECONDS = 20
RUN_SECONDS = 90
# After the driver's own bound: time for it to close the browser and report, then for SIGTERM to be handled.
GRACE_SECONDS = 10
# playwright-core 1.65's engines field.
MIN_NODE = 20
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

Step = dict[str, Any]


def goto(url: str, *, response: str | None = None) -> Step:
    """Open `url`; the step's `status` is the navigation's (or, with `response`, as for `click`)."""
    return _step("goto", url, response=response)


def click(selector: str, *, response: str | None = None, method: str | None = None, url: str | None = None) -> Step:
    """Click the first match of `selector`. With `response` (a regex searched in URL paths), wait for the response
    the click causes (of `method`, if given) and record its status; with `url` (a regex searched in the page's
    URL), wait until the page is there, following redirects (a login form's post)."""
    return _step("click", selector, response=response, method=method, url=url)


def fill(selector: str, value: str) -> Step:
    return {"fill": selector, "value": value}


def upload(selector: str, file: Path, *, response: str | None = None) -> Step:
    """Choose `file` in the file input `selector` (the page uploads it on change: wait with `response`)."""
    return _step("upload", selector, response=response, file=str(file))


def wait_for(selector: str, *, state: str = "visible") -> Step:
    """Wait until the first match of `selector` is in `state`: visible, hidden (or absent), attached, detached."""
    return {"waitFor": selector, "state": state}


def wait_for_url(pattern: str) -> Step:
    """Wait until the page's URL matches the regex `pattern` (redirects followed)."""
    return {"waitForUrl": pattern}


def text(selector: str) -> Step:
    """Read the text of the first match of `selector` (the step's `text`)."""
    return {"text": selector}


def screenshot(path: Path, *, full_page: bool = False) -> Step:
    return {"screenshot": str(path), "fullPage": full_page}


def _step(action: str, target: str, **options: str | None) -> Step:
    return {action: target, **{k: v for k, v in options.items() if v is not None}}


@dataclass(frozen=True)
class Response:
    method: str
    url: str
    status: int


@dataclass(frozen=True, repr=False)
class Outcome:
    """What the driver reports: `ok` unless a step failed (`failed_step`, `error`). Its repr is the short summary,
    without queries: URLs may carry what a failure message should not show (a login's code and state)."""

    ok: bool
    error: str | None
    failed_step: int | None
    url: str | None
    steps: list[dict[str, Any]]
    responses: list[Response]
    failed_requests: list[dict[str, Any]]
    console: list[str]
    timings: dict[str, int]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Outcome":
        return cls(
            ok=data["ok"],
            error=data["error"],
            failed_step=data["failedStep"],
            url=data["url"],
            steps=data["steps"],
            responses=[Response(**r) for r in data["responses"]],
            failed_requests=data["failedRequests"],
            console=data["console"],
            timings=data["timings"],
        )

    def statuses(self, path: str, method: str | None = None) -> list[int]:
        """Statuses of the responses whose URL path matches the regex `path` (and `method`), in order."""
        return [
            r.status
            for r in self.responses
            if re.search(path, urlsplit(r.url).path) and (method is None or r.method == method)
        ]

    def __str__(self) -> str:
        failed = "" if self.ok else f" at step {self.failed_step}: {self.error}"
        page = urlsplit(self.url or "")._replace(query="").geturl()
        return f"browser run {'ok' if self.ok else 'failed'}{failed}; page {page}; console errors {self.console}"

    __repr__ = __str__


class BrowserError(RuntimeError):
    """The driver gave no outcome: it could not start the browser, or ran past its bound."""


@dataclass(frozen=True)
class BrowserTools:
    chromium: str
    node: str
    certutil: str


def require_browser(why: str) -> BrowserTools:
    """Chromium, certutil, Node and the driver's playwright-core, or a skip (a failure under CI=true)."""
    chromium = require_tool("chromium", f"{why} (Debian's chromium)")
    certutil = require_tool("certutil", f"{why}: the browser trusts the test CA through an NSS db (libnss3-tools)")
    node = require_tool("node", f"{why}: Node runs the browser driver (playwright-core)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True, timeout=30).stdout
    if int(version.strip().lstrip("v").split(".")[0]) < MIN_NODE:
        unavailable(f"node {version.strip()} is older than playwright-core supports ({MIN_NODE}): {why}")
    wanted = json.loads((DRIVER_DIR / "package.json").read_text())["dependencies"]["playwright-core"]
    installed = DRIVER_DIR / "node_modules" / "playwright-core" / "package.json"
    if not installed.exists() or json.loads(installed.read_text())["version"] != wanted:
        unavailable(f"playwright-core {wanted} is not installed in {DRIVER_DIR}: {why}. Run `make browser`.")
    return BrowserTools(chromium, node, certutil)


class Chromium:
    """Context manager: a temporary HOME whose NSS db trusts `trusted` (CA certificate files), and `hosts` that
    resolve to 127.0.0.1; `run` plays steps in a fresh browser there. The HOME is removed at exit."""

    def __init__(self, tools: BrowserTools, *, trusted: Sequence[Path] = (), hosts: Sequence[str] = ()) -> None:
        self.tools = tools
        self.trusted = tuple(trusted)
        self.hosts = tuple(hosts)
        self.home: Path | None = None

    def __enter__(self) -> "Chromium":
        self.home = Path(tempfile.mkdtemp(prefix="secure-flink-chromium-"))
        try:
            self._trust()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.home is not None:
            shutil.rmtree(self.home, ignore_errors=True)
            self.home = None

    def _trust(self) -> None:
        assert self.home is not None
        database = self.home / ".pki" / "nssdb"
        database.mkdir(parents=True, mode=0o700)
        self._certutil("-N", "--empty-password")
        for index, ca_file in enumerate(self.trusted):
            # C,,: a CA trusted to issue server certificates, nothing else.
            self._certutil("-A", "-t", "C,,", "-n", f"secure-flink test CA {index}", "-i", str(ca_file))

    def _certutil(self, *args: str) -> None:
        assert self.home is not None
        database = f"sql:{self.home / '.pki' / 'nssdb'}"
        subprocess.run([self.tools.certutil, "-d", database, *args], check=True, capture_output=True, timeout=30)

    def run(
        self,
        steps: Sequence[Step],
        *,
        login: tuple[str, str] | None = None,
        failure_screenshot: Path | None = None,
        step_seconds: float = STEP_SECONDS,
        seconds: float = RUN_SECONDS,
    ) -> Outcome:
        """Play `steps` in a fresh browser. `login` (user, password) answers HTTP basic-auth challenges from the
        origin of the first `goto`, and from no other."""
        assert self.home is not None, "Chromium is a context manager"
        scenario = {
            "executablePath": self.tools.chromium,
            "args": [f"--host-resolver-rules={_resolver_rules(self.hosts)}"],
            "httpCredentials": _credentials(login, steps),
            "stepTimeoutMs": int(step_seconds * 1000),
            "totalTimeoutMs": int(seconds * 1000),
            "failureScreenshot": str(failure_screenshot) if failure_screenshot else None,
            "steps": list(steps),
        }
        # TMPDIR: Playwright's browser profile goes under the HOME too, and is removed with it.
        env = {**os.environ, "HOME": str(self.home), "TMPDIR": str(self.home)}
        with subprocess.Popen(
            [self.tools.node, str(DRIVER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=DRIVER_DIR,
            start_new_session=True,
        ) as driver:
            try:
                out, err = driver.communicate(json.dumps(scenario).encode(), timeout=seconds + GRACE_SECONDS)
            except subprocess.TimeoutExpired as timeout:
                raise BrowserError(f"the browser driver ran past {seconds + GRACE_SECONDS} s") from timeout
            finally:
                _end(driver)
        lines = out.decode().strip().splitlines()
        if driver.returncode != 0 or not lines:
            raise BrowserError(f"the browser driver exited with {driver.returncode}: {err.decode()[-3000:]}")
        return Outcome.from_json(json.loads(lines[-1]))


def _resolver_rules(hosts: Sequence[str]) -> str:
    """`hosts` at 127.0.0.1 and every other name unresolvable: the browser reaches nothing but loopback (Chromium's
    own background requests included)."""
    return ", ".join([*(f"MAP {host} 127.0.0.1" for host in hosts), "MAP * ~NOTFOUND", "EXCLUDE 127.0.0.1"])


def _credentials(login: tuple[str, str] | None, steps: Sequence[Step]) -> dict[str, str] | None:
    if login is None:
        return None
    first = next(step["goto"] for step in steps if "goto" in step)
    origin = urlsplit(first)
    return {"username": login[0], "password": login[1], "origin": f"{origin.scheme}://{origin.netloc}"}


def _end(driver: subprocess.Popen[bytes]) -> None:
    """Stop the driver and every process under it, if any is left: Playwright starts Chromium in a process group of
    its own, so the driver's group does not hold it. SIGTERM first (Playwright then closes the browser), SIGKILL
    for whatever is left."""
    if driver.poll() is not None:
        return
    started = _descendants(driver.pid)
    driver.send_signal(signal.SIGTERM)
    try:
        driver.wait(timeout=GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        driver.kill()
        driver.wait(timeout=GRACE_SECONDS)
    for pid in started:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _descendants(pid: int) -> list[int]:
    """The processes under `pid`, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def screenshot_path(name: str) -> Path:
    """build/screenshots/<name>.png (the directory made if needed), `name` made safe for a file name."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.png"


def png_size(path: Path) -> tuple[int, int]:
    """Width and height of a PNG file, from its header; ValueError if it is not a PNG."""
    head = path.read_bytes()[:24]
    if head[:8] != PNG_SIGNATURE or head[12:16] != b"IHDR":
        raise ValueError(f"{path} is not a PNG")
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
