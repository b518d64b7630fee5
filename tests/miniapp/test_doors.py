"""The doors into the mini app: the chat menu button set at start, the /start web_app button,
and the page itself, which needs nothing from outside the server."""

from __future__ import annotations

import re

import httpx

from tests.miniapp.conftest import OWNER
from tests.support.flow import buttons, command_reply


async def test_menu_button_and_start_button_open_the_app(world) -> None:
    url = world.kocbot.config.web.public_url + "/app"
    assert world.emu.menu_buttons[None] == {"type": "web_app", "text": "🛍 Deal center",
                                            "web_app": {"url": url}}
    welcome = await command_reply(world.emu, user=OWNER, chat_id=OWNER, text="/start")
    assert buttons(welcome) == [{"text": "🛍 Deal center", "web_app": {"url": url}}]


async def test_the_page_and_its_files_are_served_from_the_bot(world) -> None:
    async with httpx.AsyncClient(base_url=world.kocbot.config.web.public_url) as client:
        page = await client.get("/app", follow_redirects=True)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        own = [s for s in sources if s.startswith("/app/")]
        outside = [s for s in sources if not s.startswith("/app/")]
        # Only Telegram's own script comes from outside, loaded async: the page works without it.
        assert outside == ["https://telegram.org/js/telegram-web-app.js"]
        assert re.search(r'<script async src="https://telegram.org/js/telegram-web-app.js"', page.text)
        assert sorted(own) == ["/app/static/app.css", "/app/static/app.js"]
        for path in own:
            response = await client.get(path)
            assert response.status_code == 200 and len(response.content) > 1000
        assert (await client.get("/app/static/../../bot/app.py")).status_code == 404
