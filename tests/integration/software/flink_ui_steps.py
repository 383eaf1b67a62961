"""What a person does in the Flink Web UI, as browser steps (tests/integration/software/browser.py), and what the tests
check of the screenshots: shared by the tests that sign in with basic auth and with single sign-on."""

from pathlib import Path

from tests.integration.software.browser import Step, click, goto, png_size, screenshot, upload, wait_for

JOB_NAME = "seed-writer"
"""The writer job's name (writer_job.py), as the UI lists it."""
# A screenshot of the UI at the browser's 1280x800 viewport, not an error page or a blank one.
MIN_SCREENSHOT_BYTES = 20_000
JOB_PAGE = "#/job/running/([0-9a-f]{32})"
"""The UI's URL fragment for a running job's page; the group is the job's id."""


def cancel_in_the_ui(url: str, job: str) -> list[Step]:
    """Steps: find the job, running, in the list of running jobs of the UI at `url`, open it, press Cancel Job and
    confirm (the UI then sends `GET /jobs/<id>/yarn-cancel`). The job must be the only one of its name running."""
    return [
        goto(f"{url}#/job/running"),
        click(f"flink-job-list tr.clickable:has-text('{JOB_NAME}'):has-text('RUNNING')", url=f"#/job/running/{job}"),
        click("flink-job-status a:has-text('Cancel Job')"),
        click(".ant-popover button:has-text('Yes')", response=f"/jobs/{job}/yarn-cancel$", method="GET"),
    ]


def submit_in_the_ui(url: str, jar: Path) -> list[Step]:
    """Steps: on the UI's Submit New Job page, upload `jar`, pick it from the list by its file name and submit it;
    done when the new job's page is open (its id in the page's URL, JOB_PAGE)."""
    return [
        goto(f"{url}#/submit"),
        upload("input#upload-file", jar, response="/jars/upload$"),
        click(f"tr.clickable:has-text('{jar.name}')"),
        click("button:has-text('Submit'):visible", response="/jars/[^/]+/run$", url=JOB_PAGE),
    ]


def shown(state: str, shot: Path) -> list[Step]:
    """Steps: wait until the job's page shows `state` and the job's graph, with no popup left over, then save a
    screenshot to `shot`."""
    return [
        wait_for(f"flink-job-status flink-job-badge:has-text('{state}')"),
        wait_for("text=Writer: Writer"),
        wait_for(".ant-popover", state="hidden"),
        screenshot(shot),
    ]


def assert_screenshot(path: Path) -> None:
    assert path.stat().st_size >= MIN_SCREENSHOT_BYTES, f"{path}: {path.stat().st_size} bytes"
    assert png_size(path) == (1280, 800)
