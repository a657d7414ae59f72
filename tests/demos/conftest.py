"""Fixtures for the app's tests: one app server per test module, a real Chromium page, screenshots.

A browser test module sets ``APP_TABS = ["audio"]`` (the tabs to build; default: all) and uses
``app_url``, ``page`` and ``screenshot``. ``page`` fails the test when the page asks for anything outside
127.0.0.1 (the app must work offline). Screenshots go to ``$CREATIVE_GAN_ARTIFACTS`` or, by default,
``test-artifacts/screenshots/`` at the repository root (git ignores it); each test prints where.
"""
from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = os.environ.get("CREATIVE_GAN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--disable-dev-shm-usage"]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app(tabs=None, concurrency: int = 2):
    """Build and launch the app in this process; returns ``(demo, url)`` (call ``demo.close()``)."""
    from creative_gan.demos.app import build_app, launch_options

    demo = build_app(concurrency=concurrency, tabs=tabs)
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, **launch_options(port=free_port()))
    return demo, url.rstrip("/")


@pytest.fixture(scope="module")
def app_url(request):
    """URL of an app server with the module's ``APP_TABS`` (one server per test module)."""
    demo, url = start_app(getattr(request.module, "APP_TABS", None))
    yield url
    demo.close()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (Playwright cannot download its own browser here)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM} (CI installs it with apt-get install chromium)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, app_url):
    """A fresh page on the app; the test fails if anything outside 127.0.0.1 was requested."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    outside: list[str] = []

    def record(req):
        host = urlparse(req.url).hostname
        if req.url.startswith(("http://", "https://", "ws://", "wss://")) and host not in LOCAL_HOSTS:
            outside.append(req.url)

    page.on("request", record)
    page.set_default_timeout(60_000)
    page.goto(app_url)
    page.wait_for_selector(".gradio-container", state="visible")
    yield page
    context.close()
    assert not outside, f"the page requested resources outside 127.0.0.1: {outside[:5]}"


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    folder = Path(os.environ.get("CREATIVE_GAN_ARTIFACTS") or ARTIFACTS)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def screenshot(artifacts_dir, request):
    """``screenshot(page, "name")`` saves a full-page PNG artifact and returns its path."""
    def take(page, name: str) -> Path:
        settled(page)
        path = artifacts_dir / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")
        return path
    return take


def settled(page, timeout: float = 15_000) -> None:
    """Wait until no component shows Gradio's pending overlay (outputs are dimmed while a call runs);
    a component's error badge counts as settled."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=\"status-tracker\"]:not(.hide)')]"
        ".every(tracker => tracker.textContent.includes('Error'))", timeout=timeout)
    page.wait_for_timeout(300)                      # the fade-in of a freshly replaced image


def visible_error(page, text: str, timeout: float = 30_000) -> None:
    """Wait until an error message containing ``text`` is visible on the page (Gradio's error toast)."""
    page.get_by_text(text, exact=False).first.wait_for(state="visible", timeout=timeout)


def pick_option(page, dropdown_id: str, option: str) -> None:
    """Choose ``option`` in the ``gr.Dropdown`` whose elem_id is ``dropdown_id``."""
    page.click(f"#{dropdown_id} input")
    page.get_by_role("option", name=option, exact=True).click()
