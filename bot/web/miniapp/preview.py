"""A look at the mini app without a phone: a headless Chromium screenshot, if one is installed
(used by ``kocbot demo``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
# The part of Telegram's WebApp object the page uses when it opens; the page itself needs
# nothing from outside the server.
STUB = """window.Telegram = { WebApp: { initData: %s, initDataUnsafe: {}, themeParams: {},
  colorScheme: "light", ready() {}, expand() {}, onEvent() {}, openLink() {},
  MainButton: { setText() {}, show() {}, hide() {}, onClick() {} },
  BackButton: { show() {}, hide() {}, onClick() {} } } };"""


def chromium_path() -> str | None:
    """Debian's Chromium, if installed."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


async def screenshot(*, url: str, init_data: str, target: Path) -> str:
    """Save a phone-sized screenshot of the app at ``url``; returns one line saying what happened."""
    browser_path = chromium_path()
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        browser_path = None
    if browser_path is None:
        return (f"📱 the mini app is at {url} (the bot's menu button opens it in Telegram); for a "
                "screenshot here, install Debian's chromium and `pip install playwright`")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=browser_path, args=ARGS)
        try:
            context = await browser.new_context(viewport={"width": 390, "height": 844},
                                                device_scale_factor=2)
            # Offline, as in the tests: only servers on this machine are reached.
            await context.route("**/*", lambda route: route.continue_()
                                if route.request.url.startswith(("http://127.0.0.1", "http://localhost"))
                                else route.abort("internetdisconnected"))
            await context.add_init_script(STUB % json.dumps(init_data))
            page = await context.new_page()
            await page.goto(url)
            await page.wait_for_selector(".card, .empty", timeout=15_000)
            await page.wait_for_load_state("networkidle")  # the product pictures
            await page.screenshot(path=str(target))
        finally:
            await browser.close()
    return f"📱 the mini app, as a phone shows it: {target}"
