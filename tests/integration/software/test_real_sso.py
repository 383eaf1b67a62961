"""Single sign-on to the real Flink Web UI, all on 127.0.0.1 (issue 13): Dex with users in groups, the dev stack
rendered for it, the `adhoc` session cluster running the writer job, the rendered oauth2-proxy and UI proxy, and
nginx as ingress-nginx configures itself from the rendered UI Ingress in front (sso_chain.py). Headless Chromium
signs in at Dex as a viewer, an operator and an admin and uses the UI as a person does; the role matrix is then
shown by requests carrying each user's session cookie; sign-out ends the browser's session; the UI proxy's 5 s
cache of oauth2-proxy's answers is counted in oauth2-proxy's own log; and no token, cookie value or secret, and no
authorization code or state, reaches any log. Each Chromium test saves a screenshot to
build/screenshots/<test name>.png."""

import json
import re
import shutil
import time
import urllib.parse
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.integration.software.browser import (
    BrowserTools,
    Chromium,
    Outcome,
    Step,
    click,
    fill,
    goto,
    require_browser,
    screenshot_path,
)
from tests.integration.software.flink_ui_steps import (
    JOB_PAGE,
    assert_screenshot,
    cancel_in_the_ui,
    shown,
    submit_in_the_ui,
)
from tests.integration.software.https_client import jar_upload_form
from tests.integration.software.local_flink import flink_home
from tests.integration.software.local_oidc import Browser, Hop, IdpUser
from tests.integration.software.session_cluster import SessionCluster
from tests.integration.software.sso_chain import SsoChain, running_sso_chain
from tests.integration.software.writer_job import writer_job_jar

pytestmark = pytest.mark.real
VERA = IdpUser("vera@example.com", "vera-Tq8mZ2wK5pX9", ("flink-viewers",))
OTTO = IdpUser("otto@example.com", "otto-Hn3vR7yB1cL6", ("flink-operators",))
ADA = IdpUser("ada@example.com", "ada-Pb6tY4uE9sM2", ("flink-admins",))
EVE = IdpUser("eve@example.com", "eve-Wd4sJ8nF2gQ5", ("marketing",))
"""In a group that holds no role."""
WHY = "single sign-on is shown in the real Flink Web UI, in a real browser"
JDK_WHY = "the job the roles act on is compiled from Java"
CALLBACK = "/oauth2/callback"
SIGN_IN = "/oauth2/start"


@pytest.fixture(scope="module")
def chain(tmp_path_factory) -> Iterator[SsoChain]:
    with running_sso_chain((VERA, OTTO, ADA, EVE), tmp_path_factory.mktemp("sso")) as running:
        yield running


@pytest.fixture(scope="module")
def seen() -> dict[str, set[str]]:
    """Every cookie value, authorization code and state the tests saw, by kind: none may appear in a log."""
    return {"cookie": set(), "code": set(), "state": set()}


def record(seen: dict[str, set[str]], urls: Iterable[str], set_cookies: Iterable[str] = ()) -> None:
    """Adds the codes and states in `urls`' queries, and the cookie values `set_cookies` set, to `seen`."""
    for url in urls:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        seen["code"].update(query.get("code", ()))
        # oauth2-proxy's state is `<nonce>:<where to land>`; Dex's own is an id.
        seen["state"].update(state.partition(":")[0] for state in query.get("state", ()))
    seen["cookie"].update(c.split(";")[0].partition("=")[2] for c in set_cookies)
    seen["cookie"].discard("")


def log_in(chain: SsoChain, user: IdpUser, seen: dict[str, set[str]]) -> tuple[Browser, list[Hop]]:
    """A fresh stdlib browser opens the UI, is sent to Dex, signs in there and comes back; records what it saw."""
    browser = chain.browser()
    hops = browser.login(chain.url, user.email, user.password)
    record(seen, [hop.url for hop in hops], [c for hop in hops for c in hop.set_cookies])
    return browser, hops


@pytest.fixture(scope="module")
def sessions(chain, seen) -> dict[str, str]:
    """Each user with a role signed in once: their session cookie's value, by user name."""
    found = {}
    for user in (VERA, OTTO, ADA):
        browser, hops = log_in(chain, user, seen)
        assert hops[-1].status == 200 and urllib.parse.urlsplit(hops[-1].url).path == "/", [h.status for h in hops]
        cookie = browser.cookie(chain.cookie_name)
        assert cookie is not None and cookie.value
        found[user.name] = cookie.value
    return found


@pytest.fixture(scope="module")
def jar(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("job")
    return writer_job_jar(flink_home(), workdir, require_tool("javac", JDK_WHY), require_tool("jar", JDK_WHY))


class TheJob:
    """The writer job the tests act on, started at Flink directly whenever none runs (a test that cancels it leaves
    the next test a fresh one): the only job of its name in the UI's running list."""

    def __init__(self, flink: SessionCluster, jar_id: str) -> None:
        self.flink, self.jar_id = flink, jar_id
        self.current: str | None = None

    def running(self) -> str:
        if self.current is None or self.flink.job_state(self.current) != "RUNNING":
            self.current = self.flink.run_jar(self.jar_id)
        return self.current


@pytest.fixture(scope="module")
def the_job(chain, jar) -> Iterator[TheJob]:
    job = TheJob(chain.flink, chain.flink.upload_jar(jar.read_bytes()))
    yield job
    if job.current is not None:
        chain.flink.cancel(job.current)


@pytest.fixture
def job(the_job) -> str:
    return the_job.running()


@pytest.fixture(scope="module")
def tools() -> BrowserTools:
    return require_browser(WHY)


@pytest.fixture(scope="module")
def chromium(tools, chain) -> Iterator[Chromium]:
    """Chromium that trusts the stack's CA (the UI) and Dex's, and reaches the UI's host on 127.0.0.1 (Dex is
    127.0.0.1 itself)."""
    with Chromium(tools, trusted=[chain.stack_ca, chain.dex_ca], hosts=[chain.host]) as running:
        yield running


def sign_in(chain: SsoChain, user: IdpUser) -> list[Step]:
    """Steps: open the UI without a session, which sends the browser to Dex's form; sign in there; done when the
    browser is back on the UI's page."""
    return [
        goto(chain.url),
        fill("input#login", user.email),
        fill("input#password", user.password),
        click("button#submit-login", url=f"^{re.escape(chain.url)}$"),
    ]


def signed_in(chain: SsoChain, outcome: Outcome, seen: dict[str, set[str]]) -> None:
    """The browser was sent from the UI to sign in, to Dex's form (on Dex's own address), and back through the
    callback; records the callback's code and state."""
    assert outcome.statuses(f"^{SIGN_IN}$") == [302]
    dex = [r for r in outcome.responses if r.url.startswith(f"{chain.dex.issuer}/auth")]
    assert dex and all(r.status in (200, 302, 303) for r in dex), dex
    assert outcome.statuses(f"^{CALLBACK}$") == [302]
    record(seen, [r.url for r in outcome.responses])


def test_a_viewer_signs_in_at_dex_sees_the_running_job_and_cannot_cancel_it(chain, chromium, job, seen, request):
    shot = screenshot_path(request.node.name)
    outcome = chromium.run(
        [*sign_in(chain, VERA), *cancel_in_the_ui(chain.url, job), *shown("RUNNING", shot)], failure_screenshot=shot
    )
    assert outcome.ok, outcome
    signed_in(chain, outcome, seen)
    assert outcome.statuses(f"/jobs/{job}/yarn-cancel$") == [403]
    assert chain.flink.job_state(job) == "RUNNING"
    assert_screenshot(shot)


def test_an_operator_signs_in_at_dex_and_cancels_the_job_in_the_ui(chain, chromium, job, seen, request):
    shot = screenshot_path(request.node.name)
    outcome = chromium.run(
        [*sign_in(chain, OTTO), *cancel_in_the_ui(chain.url, job), *shown("CANCELED", shot)], failure_screenshot=shot
    )
    assert outcome.ok, outcome
    signed_in(chain, outcome, seen)
    assert outcome.statuses(f"/jobs/{job}/yarn-cancel$") == [202]
    assert chain.flink.job_state(job) == "CANCELED"
    assert_screenshot(shot)


def test_an_admin_signs_in_at_dex_uploads_and_runs_a_jar_in_the_ui(chain, chromium, jar, seen, request, tmp_path):
    shot = screenshot_path(request.node.name)
    named = tmp_path / "uploaded-after-sign-in.jar"
    shutil.copy(jar, named)
    outcome = chromium.run(
        [*sign_in(chain, ADA), *submit_in_the_ui(chain.url, named), *shown("RUNNING", shot)], failure_screenshot=shot
    )
    assert outcome.ok, outcome
    signed_in(chain, outcome, seen)
    assert outcome.statuses("/jars/upload$", "POST") == [200]
    assert outcome.statuses("/jars/[^/]+/run$", "POST") == [200]
    job = re.search(JOB_PAGE, outcome.url or "")
    assert job, outcome.url
    try:
        assert chain.flink.job_state(job.group(1)) == "RUNNING"
    finally:
        chain.flink.cancel(job.group(1))
    assert_screenshot(shot)


def test_a_sign_in_link_that_lands_on_a_cancel_does_not_cancel(chain, chromium, job, seen):
    """Flink cancels on a GET, and oauth2-proxy sends the browser after sign-in wherever the link's `rd` says. The
    landing request ends a redirect chain that passed through the identity provider's site, so the browser marks it
    cross-site, and the proxy refuses an operator's route from another site."""
    landing = f"/jobs/{job}/yarn-cancel"
    outcome = chromium.run(
        [
            goto(f"{chain.url}oauth2/start?rd={urllib.parse.quote(landing)}"),
            fill("input#login", OTTO.email),
            fill("input#password", OTTO.password),
            click("button#submit-login", response=f"{landing}$"),
        ]
    )
    assert outcome.ok, outcome
    record(seen, [r.url for r in outcome.responses])
    assert outcome.statuses(f"^{CALLBACK}$") == [302]
    assert outcome.statuses(f"{landing}$") == [403]
    assert chain.flink.job_state(job) == "RUNNING"


def status(chain: SsoChain, session: str | None, method: str, path: str, **kwargs) -> int:
    return chain.call(method, path, session=session, **kwargs)[0]


def run_jar_as(chain: SsoChain, session: str, jar: Path) -> tuple[int, str | None]:
    """Upload and run the job with `session`: the upload's status, and the running job's id."""
    body, headers = jar_upload_form(jar.read_bytes())
    code, _, response = chain.call("POST", "/jars/upload", session=session, body=body, headers=headers)
    if code != 200:
        return code, None
    jar_id = json.loads(response)["filename"].rsplit("/", 1)[-1]
    code, _, response = chain.call("POST", f"/jars/{jar_id}/run", session=session)
    assert code == 200, response[:300]
    job = json.loads(response)["jobid"]
    chain.flink.wait_for_state(job, "RUNNING")
    return code, job


def test_without_a_session_every_request_is_sent_to_sign_in_at_dex(chain, job):
    for method, path in (
        ("GET", "/"),
        ("GET", "/overview"),
        ("GET", f"/jobs/{job}/yarn-cancel"),
        ("DELETE", "/cluster"),
    ):
        code, headers, _ = chain.call(method, path)
        assert (code, headers.get("location")) == (302, f"{SIGN_IN}?rd={path}"), (method, path)
    code, headers, _ = chain.call("GET", f"{SIGN_IN}?rd=/")
    assert code == 302 and headers["location"].startswith(f"{chain.dex.issuer}/auth?"), headers.get("location")
    assert status(chain, "not-a-session", "GET", "/overview") == 302
    assert chain.flink.job_state(job) == "RUNNING"


def test_a_viewer_reads_the_ui_overview_jobs_metrics_logs_and_config(chain, sessions, job):
    vera = sessions["vera"]
    for path in ("/", "/config", "/overview", "/jobs/overview", f"/jobs/{job}", f"/jobs/{job}/exceptions"):
        assert status(chain, vera, "GET", path) == 200, path
    vertex = json.loads(chain.call("GET", f"/jobs/{job}", session=vera)[2])["vertices"][0]["id"]
    for path in (f"/jobs/{job}/vertices/{vertex}/metrics", "/jobmanager/config", "/jobmanager/log", "/v1/overview"):
        assert status(chain, vera, "GET", path) == 200, path


def test_a_viewer_is_refused_every_change_and_the_job_keeps_running(chain, sessions, the_job, job, jar):
    vera = sessions["vera"]
    changes = [
        ("POST", f"/jars/{the_job.jar_id}/run"),
        ("GET", f"/jobs/{job}/yarn-cancel"),
        ("PATCH", f"/jobs/{job}"),
        ("PATCH", f"/jobs/{job}?mode=cancel"),
        ("POST", f"/jobs/{job}/stop"),
        ("POST", f"/jobs/{job}/savepoints"),
        ("PUT", f"/jobs/{job}/resource-requirements"),
        ("GET", "/jars"),
        ("DELETE", "/cluster"),
    ]
    for method, path in changes:
        assert status(chain, vera, method, path) == 403, (method, path)
    assert run_jar_as(chain, vera, jar) == (403, None)
    assert chain.flink.job_state(job) == "RUNNING"


def test_flinks_path_tricks_do_not_get_a_viewer_past_the_rules(chain, sessions, job):
    """Flink decodes a path twice and splits at a decoded `/` or `?`; every route is also under /v1."""
    vera = sessions["vera"]
    tricks = [
        ("GET", f"/jobs/{job}/yarn-c%2561ncel"),
        ("GET", f"/jobs/{job}%2Fyarn-cancel"),
        ("GET", f"/v1/jobs/{job}/yarn-cancel"),
        ("GET", f"/overview/../jobs/{job}/yarn-cancel"),
        ("GET", f"//jobs/{job}/yarn-cancel"),
        ("DELETE", "/cl%2575ster"),
        ("DELETE", "/v1/cluster"),
    ]
    for method, path in tricks:
        assert status(chain, vera, method, path) in (400, 403), (method, path)
    code, _, body = chain.call("GET", f"/jobs/{job}", session=vera, headers={"X-HTTP-Method-Override": "PATCH"})
    assert code == 200 and json.loads(body)["state"] == "RUNNING"
    assert chain.flink.job_state(job) == "RUNNING"
    assert status(chain, vera, "GET", "/overview") == 200, "the cluster is still up"


def test_an_operator_cancels_but_cannot_upload_or_run_code_nor_stop_the_cluster(chain, sessions, the_job, job, jar):
    otto = sessions["otto"]
    assert run_jar_as(chain, otto, jar) == (403, None)
    assert status(chain, otto, "POST", f"/jars/{the_job.jar_id}/run") == 403
    assert status(chain, otto, "DELETE", "/cluster") == 403
    assert status(chain, otto, "POST", "/jobs") == 403
    assert status(chain, otto, "GET", f"/jobs/{job}/yarn-cancel", headers={"Sec-Fetch-Site": "same-origin"}) == 202
    chain.flink.wait_for_state(job, "CANCELED")


def test_a_cancel_from_another_site_is_refused_even_for_an_operator(chain, sessions, job):
    """A page elsewhere could make a signed-in browser send Flink's GET cancel; the session cookie (SameSite=Lax)
    goes along with a top-level navigation."""
    for fetch_site in ("cross-site", "same-site"):
        headers = {"Sec-Fetch-Site": fetch_site}
        assert status(chain, sessions["otto"], "GET", f"/jobs/{job}/yarn-cancel", headers=headers) == 403
    assert chain.flink.job_state(job) == "RUNNING"
    _, headers, _ = chain.call("GET", "/overview", session=sessions["otto"])
    assert "access-control-allow-origin" not in headers


def test_an_admin_uploads_and_runs_a_jar_and_cancels_it(chain, sessions, jar):
    code, job = run_jar_as(chain, sessions["ada"], jar)
    assert code == 200 and job
    assert status(chain, sessions["ada"], "PATCH", f"/jobs/{job}") == 202
    chain.flink.wait_for_state(job, "CANCELED")


def test_a_user_in_no_role_group_signs_in_at_dex_but_gets_no_session_and_no_access(chain, seen):
    browser, hops = log_in(chain, EVE, seen)

    assert any(hop.method == "POST" for hop in hops), "she signed in at Dex"
    assert (urllib.parse.urlsplit(hops[-1].url).path, hops[-1].status) == (CALLBACK, 403)
    assert browser.cookie(chain.cookie_name) is None
    answer = browser.get(f"{chain.url}overview")
    assert (answer.status, answer.headers["Location"]) == (302, f"{SIGN_IN}?rd=/overview")


def test_sign_out_ends_the_browsers_session(chain, seen):
    """Sign-out clears the browser's cookie: its next request is sent to sign in, and signing in again asks Dex
    for the password. A known limit, pinned so that no document claims otherwise: the session lives only in the
    cookie (oauth2-proxy's cookie session store), so a copy taken before sign-out still works until it expires
    (8 h); revoking it needs a server-side session store."""
    browser, _ = log_in(chain, VERA, seen)
    copied = browser.cookie(chain.cookie_name).value
    assert browser.get(f"{chain.url}overview").status == 200

    answer = browser.get(f"{chain.url}oauth2/sign_out")

    assert answer.status == 302
    record(seen, [], answer.headers.get_all("Set-Cookie") or [])
    assert browser.cookie(chain.cookie_name) is None
    after = browser.get(f"{chain.url}overview")
    assert (after.status, after.headers["Location"]) == (302, f"{SIGN_IN}?rd=/overview")
    hops = browser.login(chain.url, VERA.email, VERA.password)
    record(seen, [hop.url for hop in hops], [c for hop in hops for c in hop.set_cookies])
    assert any(hop.method == "POST" for hop in hops), "Dex asked for the password again"
    assert status(chain, copied, "GET", "/overview") == 200


def asked(chain: SsoChain, user: IdpUser, at_least: int = 0) -> int:
    """How many times the UI proxy has asked oauth2-proxy about `user`'s session (its request log, one line each).
    oauth2-proxy writes the line after it answered, so nginx may have answered the client first: reads until the
    count is at least `at_least` and has not changed for 0.3 s (within 3 s)."""
    deadline, last, since = time.monotonic() + 3, -1, time.monotonic()
    while True:
        lines = chain.oauth2_proxy.log().splitlines()
        count = sum(1 for line in lines if "/oauth2/auth?" in line and user.email in line)
        now = time.monotonic()
        if count != last:
            last, since = count, now
        if (count >= at_least and now - since >= 0.3) or now > deadline:
            return count
        time.sleep(0.05)


def sign_in_fresh(chain: SsoChain, user: IdpUser, seen: dict[str, set[str]]) -> str:
    """A new session for `user` (so nothing of it is cached yet): its cookie's value."""
    browser, _ = log_in(chain, user, seen)
    cookie = browser.cookie(chain.cookie_name)
    assert cookie is not None and cookie.value
    return cookie.value


def test_oauth2_proxys_yes_is_reused_for_seconds_per_session_and_route_groups(chain, seen):
    """nginx keeps oauth2-proxy's 202 for SESSION_CACHE_VALID (5 s), keyed on the session's signature and the
    groups the route needs: a burst of reads asks once, a route that needs other groups asks again, and after the
    5 s the next request asks again."""
    otto = sign_in_fresh(chain, OTTO, seen)
    assert status(chain, otto, "GET", "/overview") == 200, "a viewer's route: the answer for its groups is kept"
    before, started = asked(chain, OTTO), time.monotonic()
    for _ in range(20):
        assert status(chain, otto, "GET", "/jars") == 200, "an operator's route: other groups, asked"
    elapsed = time.monotonic() - started
    assert elapsed < 4, f"the burst took {elapsed:.1f} s: too slow to stay within one cache period"
    assert asked(chain, OTTO, before + 2) - before == 1
    time.sleep(5.5)
    assert status(chain, otto, "GET", "/jars") == 200
    assert asked(chain, OTTO, before + 2) - before == 2


def test_a_refusal_a_forged_signature_and_two_session_cookies_are_asked_every_time(chain, sessions, seen):
    vera = sign_in_fresh(chain, VERA, seen)
    before = asked(chain, VERA)
    for _ in range(3):
        assert status(chain, vera, "GET", "/jars") == 403
    assert asked(chain, VERA, before + 3) - before == 3, "no 403 is kept"
    value, timestamp, signature = sessions["otto"].rsplit("|", 2)
    forged = f"{value}|{timestamp}|{signature[:-3]}{'A' if signature[-3] != 'A' else 'B'}{signature[-2:]}"
    assert status(chain, sessions["otto"], "GET", "/overview") == 200
    assert status(chain, forged, "GET", "/overview") == 302, "a signature oauth2-proxy never approved: asked, 401"
    twice = {"Cookie": f"{chain.cookie_name}={vera}; {chain.cookie_name}={vera}"}
    before = asked(chain, VERA)
    for _ in range(3):
        assert status(chain, None, "GET", "/overview", headers=twice) == 200
    assert asked(chain, VERA, before + 3) - before == 3, "two session cookies: which one counts is oauth2-proxy's say"


def test_the_cache_is_keyed_on_the_signature_so_its_files_hold_no_cookie(chain, sessions):
    """What the files hold is the signature, usable only within 5 s of oauth2-proxy's last yes for it, and only
    on this proxy. Pinned, so that no document claims otherwise: a request whose cookie carries an approved
    signature is answered from the cache whatever the value before it (nothing reads that value but oauth2-proxy,
    and the answer names the signature's own user)."""
    ada = sessions["ada"]
    assert status(chain, ada, "GET", "/overview") == 200
    directory = Path(re.search(r"proxy_cache_path (\S+) ", chain.proxy.config_text)[1])
    files = [path.read_bytes() for path in directory.rglob("*") if path.is_file()]
    value, _, signature = ada.rsplit("|", 2)
    assert files and any(signature.encode() in text for text in files), "the cache holds ada's answer"
    assert not [text for text in files if value[:40].encode() in text]
    assert status(chain, f"{value[:-4]}AAAA|0|{signature}", "GET", "/overview") == 200


def leaks(text: str, secrets: dict[str, str]) -> list[str]:
    """What of `secrets` (by name) `text` holds, and whether it holds a JWT (ID and access tokens start with a
    base64url JSON header: `{"` is `eyJ`)."""
    found = [name for name, value in secrets.items() if value in text]
    return found + (["a JWT"] if re.search(r"eyJ[A-Za-z0-9_-]{10,}", text) else [])


def test_no_token_cookie_value_or_secret_reaches_any_log(chain, seen):
    """Late in the file: searches what every test before it made the chain log (the controller's and the UI proxy's
    access and error logs, oauth2-proxy's and Dex's) for the client secret, the cookie secret, the users' passwords,
    every session cookie value the tests saw and any JWT; and every log but the controller's access log (below) for
    the callbacks' authorization codes and states."""
    assert seen["cookie"] and seen["code"] and seen["state"]
    logs = chain.logs()
    assert "login successful" in logs["Dex log"] and "AuthSuccess" in logs["oauth2-proxy log"]
    assert VERA.email in logs["UI proxy access log"] and "GET /overview" in logs["controller access log"]
    cookies = {f"cookie {value[:8]}…": value for value in seen["cookie"]}
    callbacks = {f"{kind} {value[:8]}…": value for kind in ("code", "state") for value in seen[kind]}
    for name, text in logs.items():
        assert leaks(text, {**chain.secrets, **cookies}) == [], f"the {name}"
        if name != "controller access log":
            assert leaks(text, callbacks) == [], f"the {name}"
            assert not re.search(r"[?&](code|state)=", text), f"the {name} holds a callback's query"


def test_the_controllers_access_log_holds_no_authorization_code_or_state(chain, seen):
    """A code is single-use, short-lived, and redeemed only with the PKCE verifier (in oauth2-proxy's CSRF cookie)
    and the client secret; still, none may reach a log. The controller logs every request line, query included
    (v1.14.5's default log-format-upstream has "$request"): the callback has an Ingress of its own with
    `enable-access-log: "false"`."""
    text = chain.logs()["controller access log"]
    if "GET /overview" not in text or not seen["code"]:
        pytest.fail("not the log of the requests above, or no sign-in seen: nothing to search")
    callbacks = {f"{kind} {value[:8]}…": value for kind in ("code", "state") for value in seen[kind]}
    assert leaks(text, callbacks) == []
    assert not re.search(r"[?&](code|state)=", text)
