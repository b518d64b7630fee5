"""Headless Chromium (Debian's package) driven by Playwright, offline, with a stand-in for
Telegram's ``window.Telegram.WebApp`` that records what the page asks of Telegram."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
PHONE = {"width": 390, "height": 844}

LIGHT = {"bg_color": "#ffffff", "text_color": "#000000", "hint_color": "#999999",
         "link_color": "#2481cc", "button_color": "#2481cc", "button_text_color": "#ffffff",
         "secondary_bg_color": "#efeff3", "section_bg_color": "#ffffff"}
DARK = {"bg_color": "#212121", "text_color": "#ffffff", "hint_color": "#aaaaaa",
        "link_color": "#8774e1", "button_color": "#8774e1", "button_text_color": "#ffffff",
        "secondary_bg_color": "#181818", "section_bg_color": "#2c2c2e"}

# What Telegram's script would provide, reduced to what the page uses; every call is recorded
# on window.__tg so a test can see what the page asked of Telegram.
STUB = """
(() => {
  const cfg = %s;
  const handlers = {};
  const rec = window.__tg = { opened: [], shared: [], main: null, back: false, ready: false };
  const button = (name) => ({
    text: "", visible: false, _click: null,
    setText(t) { this.text = t; rec[name] = { text: t, visible: this.visible }; return this; },
    show() { this.visible = true; rec[name] = { text: this.text, visible: true }; return this; },
    hide() { this.visible = false; rec[name] = { text: this.text, visible: false }; return this; },
    onClick(f) { this._click = f; return this; },
  });
  const main = button("main");
  const back = { onClick(f) { this._click = f; }, show() { rec.back = true; }, hide() { rec.back = false; } };
  window.Telegram = { WebApp: {
    initData: cfg.initData, initDataUnsafe: { user: cfg.user, start_param: cfg.startParam },
    themeParams: cfg.theme, colorScheme: cfg.scheme, version: "8.0", platform: "tdesktop",
    ready() { rec.ready = true; }, expand() {},
    onEvent(name, f) { (handlers[name] = handlers[name] || []).push(f); },
    offEvent() {},
    openLink(url) { rec.opened.push(url); },
    shareMessage(id, callback) { rec.shared.push(id); if (callback) setTimeout(() => callback(true), 0); },
    HapticFeedback: { notificationOccurred() {}, impactOccurred() {} },
    MainButton: main, BackButton: back,
  } };
  window.__fire = (name) => (handlers[name] || []).forEach((f) => f());
  window.__press = (which) => (which === "main" ? main : back)._click();
})();
"""


def chromium_or_skip() -> None:
    """Skip with the reason when the browser or the driver is not installed."""
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright.async_api", reason="playwright is not installed (pip install playwright)")


@asynccontextmanager
async def phone(*, init_data: str, user: dict[str, Any], theme: dict[str, str] = LIGHT,
                scheme: str = "light", start_param: str | None = None) -> AsyncIterator[Any]:
    """A 390×844 page with the Telegram stand-in; only loopback requests leave the browser."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = await browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                                has_touch=True, locale="en-US")
            await context.route("**/*", _offline)
            config = {"initData": init_data, "user": user, "theme": theme, "scheme": scheme,
                      "startParam": start_param}
            await context.add_init_script(STUB % json.dumps(config))
            page = await context.new_page()
            yield page
        finally:
            await browser.close()


async def _offline(route: Any) -> None:
    """Tests never reach the internet: anything not on loopback fails as if offline."""
    url = route.request.url
    if url.startswith(("http://127.0.0.1", "http://localhost")):
        await route.continue_()
    else:
        await route.abort("internetdisconnected")


async def wait_for_telegram(page: Any, expression: str) -> None:
    """Wait until the page has asked Telegram for something (``expression`` on ``window.__tg``
    turns true), or has shown a toast instead, and then fail with what the toast says: an
    answer the page got from the API (a 4xx or 502) is the reason, not a 30 s timeout."""
    await page.wait_for_function(f"({expression}) || !document.getElementById('toast').hidden")
    if not await page.evaluate(expression):
        toast = await page.locator("#toast").inner_text()
        raise AssertionError(f"the page said {toast!r} instead of {expression}")
