"""Every mermaid diagram in README.md parses with mermaid itself, run in Node.

mermaid and jsdom (mermaid sanitises labels with DOMPurify, which needs a DOM) are installed once with npm into
`.cache/mermaid-<version>-jsdom-<version>/`; parsing needs no network after that and takes a few seconds.
"""

import json
import os
import re
import shutil
import subprocess

import pytest

from tests.conftest import PROJECT_DIR, unavailable

MERMAID_VERSION = "11.17.2"
JSDOM_VERSION = "29.1.1"
# jsdom 29's engines field.
MIN_NODE = (20, 19)
CACHE_DIR = PROJECT_DIR / ".cache" / f"mermaid-{MERMAID_VERSION}-jsdom-{JSDOM_VERSION}"
STAMP = CACHE_DIR / ".installed"

MERMAID_BLOCK = re.compile(r"^```mermaid[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)

# Reads a JSON list of diagram texts on stdin, prints one {ok, error} per diagram.
PARSE_SCRIPT = """
import { JSDOM } from "jsdom";
const { window } = new JSDOM("");
globalThis.window = window;
globalThis.document = window.document;
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });
let input = "";
for await (const chunk of process.stdin) input += chunk;
const results = [];
for (const text of JSON.parse(input)) {
  try {
    const parsed = await mermaid.parse(text);
    results.push({ ok: true, type: parsed.diagramType });
  } catch (error) {
    results.push({ ok: false, error: String(error?.message ?? error) });
  }
}
process.stdout.write(JSON.stringify(results));
"""


def readme_diagrams() -> list[str]:
    return MERMAID_BLOCK.findall((PROJECT_DIR / "README.md").read_text())


def _node() -> tuple[str, str]:
    """Paths of node and npm."""
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        unavailable("node and npm are needed to parse the README's mermaid diagrams (apt-get install nodejs npm)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    major, minor = (int(part) for part in version.lstrip("v").split(".")[:2])
    if (major, minor) < MIN_NODE:
        unavailable(f"node {version} is older than jsdom {JSDOM_VERSION} supports (20.19)")
    return node, npm


def _install(npm: str) -> None:
    """npm install into a fresh directory, then move it into place: a half-done install is never used."""
    if STAMP.exists():
        return
    staging = CACHE_DIR.with_name(f"{CACHE_DIR.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    (staging / "package.json").write_text(
        json.dumps({"private": True, "dependencies": {"mermaid": MERMAID_VERSION, "jsdom": JSDOM_VERSION}})
    )
    result = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
        cwd=staging,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        unavailable(f"npm install of mermaid {MERMAID_VERSION} failed: {result.stderr[-2000:]}")
    (staging / STAMP.name).touch()
    try:
        staging.rename(CACHE_DIR)
    except OSError:  # another run installed it first
        shutil.rmtree(staging, ignore_errors=True)
        if not STAMP.exists():
            raise


def broken_diagrams(diagrams: list[str]) -> list[str]:
    """Each diagram with one mistake added (a label never closed, an `end` without its subgraph), and a diagram
    type mermaid does not know: what shows that the check can fail."""
    broken = [diagram + '  A -->|"label never closed| B\n' for diagram in diagrams]
    broken += [diagram + "  end\n" for diagram in diagrams]
    return [*broken, "flowchart-of-nothing\n  A --> B\n"]


@pytest.fixture(scope="module")
def parsed() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """mermaid's verdict on the README's diagrams, and on broken copies of them (one Node run: it takes seconds)."""
    node, npm = _node()
    _install(npm)
    diagrams = readme_diagrams()
    result = subprocess.run(
        [node, "--input-type=module", "-e", PARSE_SCRIPT],
        cwd=CACHE_DIR,
        input=json.dumps(diagrams + broken_diagrams(diagrams)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    verdicts = json.loads(result.stdout)
    return verdicts[: len(diagrams)], verdicts[len(diagrams) :]


def test_the_readme_has_its_diagrams() -> None:
    diagrams = readme_diagrams()
    assert len(diagrams) >= 2, "README.md lost its trust and traffic diagrams"
    assert all(diagram.strip() for diagram in diagrams)


def test_every_readme_diagram_parses(parsed: tuple[list[dict[str, object]], list[dict[str, object]]]) -> None:
    diagrams = readme_diagrams()
    verdicts, _ = parsed
    problems = [
        f"diagram {i + 1} ({diagram.splitlines()[0]}): {verdict['error']}"
        for i, (diagram, verdict) in enumerate(zip(diagrams, verdicts, strict=True))
        if not verdict["ok"]
    ]
    assert not problems, "\n".join(problems)
    assert all(verdict["type"] for verdict in verdicts), verdicts


def test_a_broken_diagram_is_refused(parsed: tuple[list[dict[str, object]], list[dict[str, object]]]) -> None:
    _, verdicts = parsed
    assert verdicts and all(not verdict["ok"] and verdict["error"] for verdict in verdicts), verdicts
