"""The web console end to end in a real browser: Debian's Chromium, headless, driven by Playwright,
against a real ``odyssee serve --demo`` process (SQLite in a temp dir, on both CI passes).

It signs in, filters the grid, plans a pooled job on a technician's timeline, dispatches and
accepts it, and opens an approval's PDF. With ``ODYSSEE_SCREENS=1`` it saves a screenshot of each
screen to docs/screens/ (the images in the README); otherwise to the test's temp dir.
Never downloads a browser: ``/usr/bin/chromium`` must exist (``.ci/run`` installs it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.conftest import basic, free_port, wait_until_serving

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENS = Path(__file__).resolve().parents[2] / "docs" / "screens"
WEEK = "2026-11-23"  # the demo data's week (src/odyssee/domain/demo.py)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``odyssee serve --demo`` on a free loopback port, its own SQLite file, the worker in process."""
    directory = tmp_path_factory.mktemp("console")
    port = free_port()
    env = {**os.environ, "ODYSSEE_DATABASE_URL": f"sqlite:///{directory / 'odyssee.db'}"}
    command = [sys.executable, "-m", "odyssee", "serve", "--demo", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(command, env=env, cwd=directory, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(f"{base}/api/Company", basic("APIUser", "123456", "TESTAPI"), seconds=90)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("ODYSSEE_SCREENS") == "1":
        SCREENS.mkdir(parents=True, exist_ok=True)
        return SCREENS
    return tmp_path_factory.mktemp("screens")


@pytest.fixture(scope="module")
def browser_page() -> Iterator[Page]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        context.set_default_timeout(15_000)
        yield context.new_page()
        context.close()
        browser.close()


def test_console_end_to_end(server: str, browser_page: Page, shots: Path) -> None:
    page = browser_page
    started = time.monotonic()

    # sign in (a wrong password first: the error is shown, nothing is stored)
    page.goto(f"{server}/jobs")
    expect(page).to_have_url(f"{server}/signin?next=/jobs")
    page.get_by_label("Domain").fill("TESTAPI")
    page.get_by_label("User name").fill("APIUser")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signin-error")).to_have_text("Wrong domain, user name or password.")
    page.get_by_label("Password").fill("123456")
    page.screenshot(path=shots / "signin.png")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{server}/jobs")
    cookie = next(c for c in page.context.cookies() if c["name"] == "odyssee_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["expires"] == -1
    # no credentials or data in web storage: htmx's page cache is off; it keeps only the URL path
    stored = page.evaluate("[Object.entries(sessionStorage), Object.keys(localStorage)]")
    assert stored == [[["htmx-current-path-for-history", "/jobs"]], []], stored

    # filter the grid: pooled jobs whose text contains "valve"
    page.locator("#f-status").select_option("POOLING")
    page.get_by_label("Search").fill("valve")
    page.get_by_role("button", name="Apply").click()
    grid = page.locator("#jobs-grid tbody")
    expect(grid.locator("tr")).to_have_count(1)
    expect(grid).to_contain_text("Check safety valve")
    expect(page.locator("#jobs-grid caption")).to_have_text("1 job")
    page.get_by_label("Search").fill("")
    page.get_by_role("button", name="Apply").click()
    expect(grid.locator("tr")).to_have_count(2)
    page.screenshot(path=shots / "jobs-grid.png", full_page=True)

    # plan the pooled job "Check safety valve" for Anna on Tuesday, from the pool's form
    page.goto(f"{server}/planning?start={WEEK}")
    card = page.locator("article.card", has_text="Check safety valve")
    card.get_by_label("Technician").select_option(label="Anna Peeters")
    card.get_by_label("Day").fill("2026-11-24")
    card.get_by_label("Start").fill("10:00")
    card.get_by_role("button", name="Plan").click()
    expect(page.locator(".flash.ok")).to_have_text("Job planned.")
    expect(page.locator("#pool")).not_to_contain_text("Check safety valve")
    slot = page.locator('td.slot[aria-label="Anna Peeters, 2026-11-24"] .slot-job', has_text="Check safety valve")
    expect(slot).to_contain_text("10:00")
    expect(slot.locator(".status")).to_have_text("Planned")

    # dispatch it to her, then accept (the office answers for the technician)
    slot.get_by_role("button", name="Dispatch").click()
    expect(slot.locator(".status")).to_have_text("Dispatched")
    expect(page.locator("#activity")).to_contain_text("waiting for an answer")
    page.screenshot(path=shots / "planning-dispatched.png", full_page=True)
    slot.get_by_role("button", name="Accept").click()
    expect(slot.locator(".status")).to_have_text("Planned")
    expect(page.locator("#activity li").first).to_contain_text("accepted")
    page.screenshot(path=shots / "planning.png", full_page=True)

    # its detail: history and dispatch log record what happened; only allowed moves are offered
    slot.get_by_role("link").click()
    expect(page.locator("#job-status")).to_have_text("Planned")
    expect(page.locator("#dispatch-log")).to_contain_text("accepted")
    expect(page.locator("#history tbody tr")).to_have_count(5)  # Open, Pooling, Planned, Dispatched, Planned
    options = page.locator("#to-status option").all_inner_texts()
    assert "Completed" not in options and "In Progress" in options

    # the approval of the completed demo job: its PDF (rendered by the worker) inline and as download
    page.goto(f"{server}/jobs?q=circulation")
    page.locator("#jobs-grid tbody a").first.click()
    frame = page.locator("iframe.pdf")
    for _ in range(40):  # the in-process worker renders the PDF within moments of startup
        if frame.count():
            break
        time.sleep(0.5)
        page.reload()
    expect(frame).to_have_count(1)
    pdf = page.request.get(server + str(frame.get_attribute("src")))
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF") and pdf.headers["content-type"] == "application/pdf"
    with page.expect_download() as download:
        page.get_by_role("link", name="Download").first.click()
    assert download.value.suggested_filename.endswith(".pdf")
    expect(page.locator("#parts")).to_contain_text("Circulation pump")
    page.screenshot(path=shots / "job-detail.png", full_page=True)

    page.goto(f"{server}/integration")
    expect(page.locator("#h-changes")).to_be_visible()
    expect(page.locator(".changes")).to_contain_text("JobDispatchLog")
    page.screenshot(path=shots / "integration.png", full_page=True)

    # a tablet: the planning screen stacks the pool above the timeline
    page.set_viewport_size({"width": 820, "height": 1180})
    page.goto(f"{server}/planning?start={WEEK}")
    pool, timeline = page.locator("#pool").bounding_box(), page.locator("#timeline").bounding_box()
    assert pool and timeline and timeline["y"] > pool["y"]
    page.screenshot(path=shots / "planning-tablet.png")

    page.set_viewport_size({"width": 1366, "height": 900})
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{server}/signin")
    page.goto(f"{server}/planning")
    expect(page).to_have_url(f"{server}/signin?next=/planning")
    assert time.monotonic() - started < 60
