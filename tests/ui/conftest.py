"""
Fixtures of the browser tests: the real Airflow UI, headless Chromium driven by Playwright, screenshots.

The browser is Debian's Chromium (``/usr/bin/chromium``), installed by ``scripts/install_servers.sh``
if missing (``scripts/test`` runs it first). Only when no browser can be installed are the tests
skipped, with the reason in the skip and in a banner at the end of the run.

Screenshots go to a temporary directory; with ``MI_UPDATE_SCREENSHOTS=1`` they replace the ones in
``docs/screenshots/`` that the README shows (``MI_UPDATE_SCREENSHOTS=1 scripts/test tests/ui``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_cli import airflow_major_version
from airflow_ui import CHROMIUM_FLAGS, REPO, UiServer, airflow_ui_server, ensure_chromium

SCREENSHOTS_DIR = REPO / "docs" / "screenshots"
#: Milliseconds a browser action (click, fill, wait for an element) may take before the test fails.
ACTION_TIMEOUT_MS = 20_000
#: A screenshot bigger than this is not fit to commit.
MAX_SCREENSHOT_BYTES = 200_000

_skipped_for_no_browser: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Repeat, loudly, why the browser tests were skipped."""
    if _skipped_for_no_browser:
        terminalreporter.write_sep("!", "BROWSER TESTS SKIPPED", red=True, bold=True)
        terminalreporter.write_line(_skipped_for_no_browser[0], red=True, bold=True)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's Chromium, installed if need be; the test is skipped (loudly) if it cannot be."""
    path, reason = ensure_chromium()
    if path is None:
        _skipped_for_no_browser.append(f"The connection form was NOT tested in a browser: {reason}")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="module")
def airflow_ui() -> Iterator[UiServer]:
    """The installed Airflow's web UI on 127.0.0.1, in a throw-away home, open without login."""
    with airflow_ui_server(airflow_major_version()) as server:
        yield server


@pytest.fixture(scope="module")
def browser(chromium_path: Path) -> Iterator[Any]:
    """Headless Chromium, for the tests of one module (Playwright's sync API, closed after them)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(chromium_path), headless=True, args=CHROMIUM_FLAGS, timeout=60_000
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser page (own cookies and storage) whose every action is bounded in time."""
    context = browser.new_context(viewport={"width": 1100, "height": 820}, locale="en-US")
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(60_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshots_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``docs/screenshots`` with ``MI_UPDATE_SCREENSHOTS=1``, else a temporary directory."""
    if os.environ.get("MI_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS_DIR
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def screenshot(screenshots_dir: Path) -> Callable[..., Path]:
    """
    ``screenshot(target, name, **options)``: save a PNG of a page or an element as ``<name>.png``.

    ``options`` go to Playwright's ``screenshot`` (e.g. ``full_page=True``).

    The image is reduced to a palette of 128 colours (a UI has few), so it stays small enough to
    commit; it must be under ``MAX_SCREENSHOT_BYTES``.
    """
    from PIL import Image

    def take(target: Any, name: str, **options: Any) -> Path:
        path = screenshots_dir / f"{name}.png"
        target.screenshot(path=str(path), animations="disabled", **options)
        with Image.open(path) as image:
            small = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
        small.save(path, optimize=True)
        assert path.stat().st_size < MAX_SCREENSHOT_BYTES, f"{path} is {path.stat().st_size} bytes"
        return path

    return take
