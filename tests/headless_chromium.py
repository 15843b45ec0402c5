"""Debian's headless Chromium for browser tests, driven with Selenium.

``chromium_driver()`` starts /usr/bin/chromium through /usr/bin/chromedriver with the
flags this machine needs (no sandbox as root, no GPU, no background networking: the
network is closed) and a fresh profile. Tests that need it call ``require_chromium()``
first: it skips when the Debian packages are missing, except under CI=true, where a
missing browser is a failure (scripts/system_packages.sh installs them).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile

import pytest

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
)


def _binaries() -> tuple[str | None, str | None]:
    return shutil.which("chromium"), shutil.which("chromedriver")


def require_chromium() -> None:
    browser, driver = _binaries()
    if browser and driver:
        return
    message = "Debian packages chromium and chromium-driver are not installed (scripts/system_packages.sh)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@contextlib.contextmanager
def chromium_driver(width: int = 1280, height: int = 1000):
    """A Selenium WebDriver on headless Chromium; quits the browser on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    require_chromium()
    browser, driver_path = _binaries()
    profile = tempfile.mkdtemp(prefix="sicot-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def full_page_screenshot(driver, path: str) -> None:
    """Resizes the window to the page's height, then saves a PNG of it."""
    height = driver.execute_script("return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
    width = driver.execute_script("return document.documentElement.scrollWidth")
    driver.set_window_size(max(1280, int(width)), min(int(height) + 120, 12000))
    driver.save_screenshot(path)
