"""End to end in headless Chromium: submit an intent in the Studio, watch it build, open its trace, query SPARQL.

Needs Debian's `chromium` at /usr/bin/chromium (driven by Playwright); screenshots go to
$FACTORY_TEST_ARTIFACTS (default: the test's tmp folder).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
APP = Path(__file__).resolve().parent.parent / "studio" / "app.py"
INTENT = "A multi-tenant invoicing service where customers receive invoices with line items and pay them by card."

pytestmark = [
    pytest.mark.slow(minutes=2),
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _processes_of(home: Path) -> list[int]:
    """Processes (a build the Studio started, its services) whose FACTORY_HOME is this test's home."""
    marker = f"FACTORY_HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.fixture
def studio(tmp_path: Path):  # type: ignore[no-untyped-def]
    """The Studio served on a free loopback port over an empty home; stopped (with what it started) after."""
    home = tmp_path / "home"
    home.mkdir()
    port = _free_port()
    env = {**os.environ, "FACTORY_HOME": str(home)}
    log = (tmp_path / "studio.log").open("wb")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(APP),
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            pytest.fail(f"the Studio did not start: {(tmp_path / 'studio.log').read_text()[-2000:]}")
        yield url, home
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        subprocess.run(
            [sys.executable, "-P", "-m", "studio", "deployments", "stop", "--all"],
            env=env,
            check=False,
            capture_output=True,
            timeout=120,
        )
        for pid in _processes_of(home):  # a build still running after a failure
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        log.close()


def test_submit_build_trace_and_query_in_the_browser(studio, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    url, _home = studio
    shots = Path(os.environ.get("FACTORY_TEST_ARTIFACTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"])
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.set_default_timeout(60_000)
        expect.set_options(timeout=60_000)
        try:
            page.goto(url)  # the first run of a fresh server starts on the main page
            expect(page.get_by_role("heading", name="Overview")).to_be_visible()
            page.goto(f"{url}/new")
            expect(page.get_by_role("heading", name="New product")).to_be_visible()
            page.get_by_role("textbox", name="Tenant of the product").fill("acme")
            page.get_by_role("textbox", name="Product slug (optional)").fill("invoicing")
            intent = page.get_by_role("textbox", name="Intent")
            intent.fill(INTENT)
            intent.press("Tab")
            page.get_by_role("button", name="Propose blueprint").click()
            expect(page.get_by_text("entities,").first).to_be_visible(timeout=120_000)  # the diagram's caption
            page.get_by_role("button", name="Build").click()
            expect(page.get_by_text("Build of acme/invoicing (revision 1)")).to_be_visible()
            expect(page.get_by_text("acme/invoicing is built")).to_be_visible(timeout=240_000)
            page.screenshot(path=str(shots / "new-product.png"), full_page=True)

            page.get_by_role("link", name="Open its trace").click()
            expect(page.get_by_text("acme/invoicing — ")).to_be_visible()
            graph = page.locator("[data-testid='stGraphVizChart'] svg").first
            expect(graph).to_be_visible()
            assert graph.locator("text=intent").count() >= 1 and graph.locator("text=telemetry").count() >= 1
            page.screenshot(path=str(shots / "trace.png"), full_page=True)

            page.goto(f"{url}/knowledge?tenant=acme")
            page.get_by_role("button", name="Run SPARQL").click()
            expect(page.get_by_text("3 rows")).to_be_visible()
            expect(page.locator("[data-testid='stDataFrame']").first).to_be_visible()
            page.screenshot(path=str(shots / "knowledge.png"), full_page=True)

            page.goto(f"{url}/?tenant=acme")
            expect(page.get_by_role("heading", name="Overview")).to_be_visible()
            expect(page.locator("[data-testid='stMetricValue']").first).to_have_text("1")
            page.screenshot(path=str(shots / "overview.png"), full_page=True)
            page.goto(f"{url}/product?tenant=acme&product=invoicing")
            expect(page.locator("[data-testid='stGraphVizChart'] svg").first).to_be_visible()
            page.screenshot(path=str(shots / "product.png"), full_page=True)
            assert not page.locator("[data-testid='stException']").count()
            assert not page.get_by_text("Page not found").count()
        except Exception:
            page.screenshot(path=str(shots / "failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    assert (shots / "trace.png").stat().st_size > 10_000
