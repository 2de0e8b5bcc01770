"""Browser tier: the HTML report in a real headless Chromium (Debian's `chromium` and
`chromium-driver`), driven by selenium with an explicit chromedriver so nothing is
downloaded. Without them the tier is skipped with the reason, unless
HARNESS_REQUIRE_BROWSER=1 (CI), where that is a failure."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import gate_tier

CHROMIUM = os.environ.get("HARNESS_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("HARNESS_CHROMEDRIVER", "/usr/bin/chromedriver")
# Flags that work headless as root in a container, and keep Chromium off the network.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)
_SCREENSHOT_DIRS: list[Path] = []


def pytest_configure(config: pytest.Config) -> None:
    # Registered here too, so the tier runs (without warnings) wherever it is collected.
    config.addinivalue_line(
        "markers", "browser: the HTML report in a real headless Chromium (needs chromium, chromium-driver, selenium)"
    )


def _why_not() -> str | None:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        return f"{' and '.join(missing)} not found (Debian: apt-get install chromium chromium-driver)"
    if importlib.util.find_spec("selenium") is None:
        return "selenium is not installed (pip install selenium)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    gate_tier(items, "browser", _why_not)


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One headless Chromium per test module, with a fresh profile; quit on the way out."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # so a test can see JS errors
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture(scope="module")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """HARNESS_SCREENSHOT_DIR (CI keeps it as an artifact), else a pytest temp dir."""
    wanted = os.environ.get("HARNESS_SCREENSHOT_DIR")
    path = Path(wanted).resolve() if wanted else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    print(f"browser screenshots: {path}")
    _SCREENSHOT_DIRS.append(path)
    return path


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for path in _SCREENSHOT_DIRS:
        terminalreporter.write_line(f"browser screenshots: {path}")
