// Runs one scenario in Debian's headless Chromium through playwright-core (no browser download): reads the
// scenario as JSON on stdin, prints the outcome as one JSON document on stdout. tests/integration/software/browser.py
// writes the scenarios and reads the outcomes; its docstring describes both.
//
// Chromium trusts what the NSS db in $HOME/.pki/nssdb trusts (the caller makes one): no certificate error is ignored.
// A step that fails ends the scenario (`ok: false`, `failedStep`, `error`, a screenshot if one was asked for); the
// exit status is non-zero only when no outcome could be written (a bad scenario, a browser that did not start).
import { chromium } from "playwright-core";

const STEP_ACTIONS = ["goto", "click", "fill", "upload", "waitFor", "waitForUrl", "text", "screenshot"];

async function readScenario() {
  let input = "";
  for await (const chunk of process.stdin) input += chunk;
  return JSON.parse(input);
}

function actionOf(step) {
  const actions = STEP_ACTIONS.filter((name) => name in step);
  if (actions.length !== 1) throw new Error(`a step names exactly one of ${STEP_ACTIONS.join(", ")}: ${JSON.stringify(step)}`);
  return actions[0];
}

function pathMatches(pattern, method) {
  const expression = new RegExp(pattern);
  return (response) =>
    expression.test(new URL(response.url()).pathname) && (!method || response.request().method() === method);
}

// Starts what a step waits for before the step acts, so that a quick response or redirect cannot be missed.
async function performed(page, step, act) {
  const waits = [];
  if (step.response) waits.push(page.waitForResponse(pathMatches(step.response, step.method)));
  if (step.url) waits.push(page.waitForURL(new RegExp(step.url)));
  const [result, response] = await Promise.all([act(), ...waits]);
  return { result, status: step.response ? response.status() : undefined };
}

async function runStep(page, step) {
  const action = actionOf(step);
  switch (action) {
    case "goto": {
      const { result, status } = await performed(page, step, () => page.goto(step.goto));
      return { status: status ?? result?.status() };
    }
    case "click":
      return await performed(page, step, () => page.locator(step.click).first().click());
    case "fill":
      return await performed(page, step, () => page.locator(step.fill).first().fill(step.value));
    case "upload":
      return await performed(page, step, () => page.locator(step.upload).first().setInputFiles(step.file));
    case "waitFor":
      await page.locator(step.waitFor).first().waitFor({ state: step.state ?? "visible" });
      return {};
    case "waitForUrl":
      await page.waitForURL(new RegExp(step.waitForUrl));
      return {};
    case "text":
      return { text: await page.locator(step.text).first().textContent() };
    case "screenshot":
      await page.screenshot({ path: step.screenshot, fullPage: Boolean(step.fullPage) });
      return {};
  }
}

async function runScenario(scenario, outcome) {
  const started = Date.now();
  const browser = await chromium.launch({
    executablePath: scenario.executablePath,
    headless: true,
    args: scenario.args ?? [],
    timeout: scenario.stepTimeoutMs,
  });
  outcome.timings.launchMs = Date.now() - started;
  try {
    const context = await browser.newContext({
      httpCredentials: scenario.httpCredentials,
      viewport: scenario.viewport ?? { width: 1280, height: 800 },
    });
    context.setDefaultTimeout(scenario.stepTimeoutMs);
    context.setDefaultNavigationTimeout(scenario.stepTimeoutMs);
    const page = await context.newPage();
    page.on("response", (r) => outcome.responses.push({ method: r.request().method(), url: r.url(), status: r.status() }));
    page.on("requestfailed", (r) => outcome.failedRequests.push({ url: r.url(), error: r.failure()?.errorText }));
    page.on("console", (m) => m.type() === "error" && outcome.console.push(m.text()));
    for (const [index, step] of scenario.steps.entries()) {
      const stepStarted = Date.now();
      try {
        const result = await runStep(page, step);
        outcome.steps.push({ action: actionOf(step), ok: true, ms: Date.now() - stepStarted, url: page.url(), ...result });
      } catch (error) {
        outcome.steps.push({ action: actionOf(step), ok: false, ms: Date.now() - stepStarted, url: page.url() });
        Object.assign(outcome, { ok: false, failedStep: index, error: String(error?.message ?? error) });
        if (scenario.failureScreenshot) await page.screenshot({ path: scenario.failureScreenshot }).catch(() => {});
        break;
      }
    }
    outcome.url = page.url();
  } finally {
    const closing = Date.now();
    await browser.close();
    outcome.timings.closeMs = Date.now() - closing;
    outcome.timings.totalMs = Date.now() - started;
  }
}

const scenario = await readScenario();
const outcome = {
  ok: true, failedStep: null, error: null, url: null, steps: [], responses: [], failedRequests: [], console: [],
  timings: {},
};
// The caller bounds the run too, a little later: this bound ends it first, and Playwright's exit handler kills the
// browser on the way out.
const watchdog = setTimeout(() => {
  process.stderr.write(`scenario exceeded ${scenario.totalTimeoutMs} ms\n`);
  process.exit(3);
}, scenario.totalTimeoutMs);
await runScenario(scenario, outcome);
clearTimeout(watchdog);
process.stdout.write(JSON.stringify(outcome) + "\n");
