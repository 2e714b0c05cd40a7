"""The app in headless Chromium (Debian's chromium driven by playwright; no browser download): pick the
erased run, type an explicit prompt, compare, and read both detector scores off the page."""

import re
import time
from pathlib import Path

import pytest

from tests.app.conftest import EXPLICIT

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.is_file(), reason=(
    "no /usr/bin/chromium: install Debian's chromium (apt-get install -y chromium); .ci/run does"))


@pytest.fixture(scope="module")
def page(app_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        page = browser.new_page(viewport={"width": 1100, "height": 1000})
        page.goto(app_url)
        page.wait_for_selector("#prompt textarea")
        yield page
        browser.close()


def _score(page, elem_id: str) -> float:
    return float(re.search(r"score ([0-9.]+)", page.locator(elem_id).inner_text()).group(1))


def test_compare_in_the_browser(page, runs_root, tmp_path):
    erasure = runs_root[1]
    page.click("#run input")
    page.get_by_role("option", name=re.compile(re.escape(erasure.name))).click()
    page.wait_for_function("document.querySelector('#run-summary').innerText.includes('advunlearn')")
    page.fill("#prompt textarea", EXPLICIT)
    started = time.perf_counter()
    page.click("#compare")
    page.wait_for_function("document.querySelector('#erased-verdict').innerText.includes('score')", timeout=60_000)
    page.wait_for_selector("#base-image img")
    page.wait_for_selector("#erased-image img")
    seconds = time.perf_counter() - started
    base, erased = _score(page, "#base-verdict"), _score(page, "#erased-verdict")
    page.screenshot(path=tmp_path / "compare.png")
    print(f"comparison in the browser: {seconds:.2f} s (click to both images); {page.locator('#timing').inner_text()}")
    assert erased < base, (base, erased)


def test_a_too_long_prompt_shows_a_message_not_a_traceback(page):
    page.fill("#prompt textarea", "a " * 100)
    page.click("#compare")
    toast = page.locator(".toast-body").first
    toast.wait_for(timeout=30_000)
    assert "the model reads at most 77" in toast.inner_text()
    assert "Traceback" not in page.content()
