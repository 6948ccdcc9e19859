"""A real browser on the demo: headless Debian chromium driven by playwright loads the page, runs Explore
and Predict, checks that the images appear and no error is shown, and saves screenshots
(outputs/space-browser/, or $NCA_SCREENSHOT_DIR)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (.ci/install_browser.sh)"),
]


def screenshot_dir() -> Path:
    root = Path(__file__).resolve().parent.parent
    out = Path(os.environ.get("NCA_SCREENSHOT_DIR", root / "outputs" / "space-browser"))
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture(scope="module")
def space_model():
    from space.logic import default_model

    return default_model()


@pytest.fixture(scope="module")
def app_url(space_model):
    pytest.importorskip("gradio")
    from space.app import build_app

    demo = build_app(model=space_model)
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1")
    try:
        yield demo.local_url
    finally:
        demo.close()


@pytest.fixture(scope="module")
def page(app_url, tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api")
    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh --user-data-dir
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=FLAGS,
            viewport={"width": 1400, "height": 1000})
        try:
            page = context.new_page()
            page.set_default_timeout(60_000)
            page.goto(app_url, wait_until="networkidle")
            yield page
        finally:
            context.close()
    shutil.rmtree(profile, ignore_errors=True)


def image_loaded(page, elem_id: str) -> bool:
    """The <img> inside the component has pixels (decoded, non-zero natural size)."""
    img = page.locator(f"#{elem_id} img").first
    img.wait_for(state="visible")
    page.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=img.element_handle())
    return img.evaluate("el => el.naturalWidth * el.naturalHeight") > 0


def assert_no_error(page, elem_id: str) -> None:
    assert "Error" not in page.locator(f"#{elem_id}").inner_text()
    toasts = page.locator(".toast-body")
    assert toasts.count() == 0 or "error" not in toasts.first.inner_text().lower()


def test_explore_in_a_real_browser(page):
    page.get_by_role("tab", name="Explore").click()
    page.locator("#explore-run").click()
    assert image_loaded(page, "explore-strip")
    assert image_loaded(page, "explore-gif")
    page.locator("#explore-labels").get_by_text("complexity", exact=True).wait_for()
    assert "gzip-int32-ref" in page.locator("#explore-labels").inner_text()
    assert_no_error(page, "explore-error")
    page.screenshot(path=str(screenshot_dir() / "explore.png"), full_page=True)


def test_predict_in_a_real_browser(page, space_model):
    if space_model is None:
        pytest.skip("no bundled checkpoint in space/checkpoint")
    page.get_by_role("tab", name="Predict").click()
    page.locator("#predict-run").click()
    assert image_loaded(page, "predict-compare")
    assert image_loaded(page, "predict-context")
    page.locator("#predict-summary").get_by_text("mean cell accuracy").wait_for()
    assert_no_error(page, "predict-error")
    page.screenshot(path=str(screenshot_dir() / "predict.png"), full_page=True)


def test_tasks_in_a_real_browser(page, space_model):
    if space_model is None:
        pytest.skip("no bundled checkpoint in space/checkpoint")
    page.get_by_role("tab", name="Tasks").click()
    page.locator("#tasks-run").click()
    assert image_loaded(page, "tasks-rollout")
    page.locator("#tasks-result").get_by_text("Reverse reasoning").wait_for()
    assert_no_error(page, "tasks-error")
    page.screenshot(path=str(screenshot_dir() / "tasks.png"), full_page=True)


def test_bad_input_shows_a_message_in_the_page(page):
    page.get_by_role("tab", name="Explore").click()
    size = page.get_by_label("Grid size")
    size.fill("0")
    page.locator("#explore-run").click()
    page.locator("#explore-error").get_by_text("grid size must be between").wait_for()
    page.screenshot(path=str(screenshot_dir() / "explore-error.png"), full_page=True)
    size.fill("24")
    page.locator("#explore-run").click()
    page.wait_for_function("() => !document.querySelector('#explore-error').innerText.includes('Error')")
    assert image_loaded(page, "explore-strip")
