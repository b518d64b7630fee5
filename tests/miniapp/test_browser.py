"""The mini app in a real headless Chromium on a phone-sized screen, offline: Telegram's
script cannot load and the test stands in for ``window.Telegram.WebApp``. Screenshots of the
main pages are saved under the test's tmp dir."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.storage.models import Link, Payout, Share, User
from tests.miniapp.browser import DARK, chromium_or_skip, phone, wait_for_telegram
from tests.miniapp.conftest import MEMBER, OWNER
from tests.support.databases import make_database_url
from tests.support.flow import buttons, click, command_reply, postback, subid


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """SQLite only: the API tests cover both backends, and a browser run is costly."""
    return make_database_url("sqlite", tmp_path)


@pytest.fixture(autouse=True)
def _needs_chromium() -> None:
    chromium_or_skip()


def user_of(world, user_id: int) -> dict:
    u = world.emu.core.world.user(user_id)
    return {k: u[k] for k in ("id", "first_name", "language_code") if k in u}


async def open_app(world, page, user: int):  # type: ignore[no-untyped-def]
    await page.goto(world.kocbot.config.web.public_url + "/app/")
    await page.wait_for_selector("body.ready")


async def test_member_searches_in_chinese_opens_a_deal_and_buys(world, tmp_path: Path) -> None:
    shots = tmp_path / "screens"
    shots.mkdir()
    async with phone(init_data=world.init_data(MEMBER), user=user_of(world, MEMBER)) as page:
        await open_app(world, page, MEMBER)
        await page.wait_for_selector(".card")
        assert await page.locator("h1").inner_text() == "好物中心"  # the member's language
        await page.screenshot(path=str(shots / "deals.png"))
        await page.fill("#q", "保温杯")
        await page.press("#q", "Enter")
        await page.wait_for_function("document.querySelectorAll('.card').length === 2")
        assert await page.locator(".card").evaluate_all("cs => cs.map(c => c.dataset.sku)") == ["TH2", "TH1"]
        await page.screenshot(path=str(shots / "search.png"))
        await page.click(".card[data-sku=TH1]")
        await page.wait_for_selector("#buy")
        assert "保温杯 500ml" in await page.locator("h2").inner_text()
        assert await page.locator("#stock").inner_text() == "100"
        assert await page.evaluate("window.__tg.back") is True  # BackButton shown on the deal page
        assert await page.evaluate("window.__tg.main") == {"text": "购买 ¥39.00", "visible": True}
        await page.wait_for_function("document.querySelector('.deal-img img').complete")
        await page.screenshot(path=str(shots / "deal.png"))
        await page.click("#buy")
        await wait_for_telegram(page, "window.__tg.opened.length === 1")
        url = (await page.evaluate("window.__tg.opened"))[0]
        status, location = await click(url, **{"user-agent": "Mozilla/5.0"})
        assert status == 302 and location.startswith("https://shop.example/p/1?subid=")
        assert subid(location)
        # Telegram's BackButton goes back to the results.
        await page.evaluate("window.__press('back')")
        await page.wait_for_selector(".card[data-sku=TH2]")
        assert await page.evaluate("window.__tg.back") is False
    with world.kocbot.db.transaction() as session:
        link = session.scalars(select(Link).where(Link.user_id == MEMBER)).one()
    assert url.endswith(link.code) and link.promoter_id is None  # as /deals' Get link for a member


async def test_promoter_shares_a_deal_and_sees_the_dashboard(world, tmp_path: Path) -> None:
    shots = tmp_path / "screens"
    shots.mkdir()
    async with phone(init_data=world.init_data(OWNER), user=user_of(world, OWNER),
                     start_param="d_6") as page:
        await open_app(world, page, OWNER)
        await page.wait_for_selector("#share")  # start_param d_6 opens that deal
        await page.click("#share")
        await wait_for_telegram(page, "window.__tg.shared.length === 1")
        prepared_id = (await page.evaluate("window.__tg.shared"))[0]
        assert world.emu.prepared_messages[prepared_id]["user_id"] == OWNER
        message = world.emu.share_prepared_message(OWNER, prepared_id, world.group)
        tap = world.emu.tap_button(MEMBER, message, buttons(message)[0]["callback_data"])
        assert (await world.emu.wait_callback_answer(tap, timeout=10))["url"]
        with world.kocbot.db.transaction() as session:
            share = session.scalars(select(Share)).one()
            link = session.scalars(select(Link).where(Link.user_id == MEMBER)).one()
        assert (share.sharer_id, link.promoter_id, link.share_id) == (OWNER, OWNER, share.id)

        # An order through that share, then the dashboard.
        world.emu.open_start_link(MEMBER, f"l_{link.code}")
        await world.emu.wait_for(lambda: bool(world.emu.sent(chat_id=MEMBER)), timeout=10)
        status, location = await click(buttons(world.emu.sent(chat_id=MEMBER)[-1])[0]["url"],
                                       **{"user-agent": "Mozilla/5.0"})
        await world.kocbot.clicks.flush()
        await postback(world.kocbot, {"click_id": subid(location), "order_id": "BR-1", "amount": "399.00",
                                  "status": "confirmed"})
        await page.click("[data-tab=earnings]")
        await page.wait_for_selector("#chart polyline")
        points = (await page.get_attribute("#chart polyline", "points")).split()
        assert len(points) == 30
        assert await page.locator("[data-bucket=confirmed] b").inner_text() == "¥53.87"
        assert "null" not in await page.locator("#view").inner_text()  # empty sections leave nothing
        await page.screenshot(path=str(shots / "dashboard.png"), full_page=True)


async def test_owner_changes_the_schedule_and_switches_theme(world, tmp_path: Path) -> None:
    shots = tmp_path / "screens"
    shots.mkdir()
    async with phone(init_data=world.init_data(OWNER), user=user_of(world, OWNER)) as page:
        await open_app(world, page, OWNER)
        await page.click("[data-tab=groups]")
        form = page.locator(f"form[data-chat='{world.group}']")
        await form.locator("input[name=times]").fill("25:00")
        await form.locator("button[type=submit]").click()
        await form.locator(".err").wait_for()
        assert "not a time like 09:00" in await form.locator(".err").inner_text()
        await form.locator("input[name=times]").fill("07:30 12:00 21:15")
        await form.locator("input[name=timezone]").fill("Asia/Tokyo")
        await form.locator("button[type=submit]").click()
        await form.locator(".ok").wait_for()
        await page.screenshot(path=str(shots / "groups.png"), full_page=True)
        text = (await command_reply(world.emu, user=OWNER, chat_id=OWNER, text="/groups"))["text"]
        assert "07:30 12:00 21:15" in text and "Asia/Tokyo" in text

        await page.click("[data-tab=deals]")
        await page.wait_for_selector(".card")
        light = await page.evaluate("getComputedStyle(document.body).backgroundColor")
        await page.evaluate(f"""() => {{ Telegram.WebApp.themeParams = {DARK!r};
            Telegram.WebApp.colorScheme = 'dark'; window.__fire('themeChanged'); }}""")
        dark = await page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert (light, dark) == ("rgb(239, 239, 243)", "rgb(24, 24, 24)")
        assert await page.evaluate("document.documentElement.dataset.scheme") == "dark"
        await page.screenshot(path=str(shots / "deals-dark.png"))


async def test_the_page_renders_without_telegram_at_all(world, tmp_path: Path) -> None:
    """No stand-in: the page still draws, reading the launch data from the URL like Telegram's
    script would (``#tgWebAppData=...``)."""
    from urllib.parse import quote

    from playwright.async_api import async_playwright

    from tests.miniapp.browser import ARGS, CHROMIUM, PHONE, _offline

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = await browser.new_context(viewport=PHONE)
        await context.route("**/*", _offline)
        page = await context.new_page()
        url = world.kocbot.config.web.public_url + "/app/#tgWebAppData=" + quote(world.init_data(OWNER))
        await page.goto(url)
        await page.wait_for_selector(".card")
        assert await page.locator("h1").inner_text() == "Deal center"
        await page.goto(world.kocbot.config.web.public_url + "/app/")  # no data at all: a hint, no crash
        await page.wait_for_selector(".empty")
        await browser.close()


async def test_owner_picks_a_forum_topic_in_the_app(world, tmp_path: Path) -> None:
    from playwright.async_api import expect

    forum = world.emu.create_group("Forum deals", admins=[OWNER], members=[MEMBER], forum=True)
    world.emu.add_bot_to_group(forum, OWNER)
    groups = world.kocbot.services.groups
    await world.emu.wait_for(lambda: groups.find(forum) is not None, timeout=10)
    topic = world.emu.create_topic(forum, "每日好物")
    await world.emu.wait_for(lambda: len(groups.topics(forum)) == 1, timeout=10)
    async with phone(init_data=world.init_data(OWNER), user=user_of(world, OWNER)) as page:
        await open_app(world, page, OWNER)
        await page.click("[data-tab=groups]")
        form = page.locator(f"form[data-chat='{forum}']")
        select_ = form.locator("select[name=topic]")
        # The groups tab fills its forms when its data arrives: wait for both, then read them.
        await expect(select_.locator("option")).to_have_text(["Main chat", "每日好物"])
        await page.locator(f"form[data-chat='{world.group}']").wait_for()
        assert await page.locator(f"form[data-chat='{world.group}'] select[name=topic]").count() == 0
        await select_.select_option(str(topic))
        await form.locator("button[type=submit]").click()
        await form.locator(".ok").wait_for()
        assert groups.find(forum).topic_id == topic
        await page.screenshot(path=str(tmp_path / "groups-topic.png"), full_page=True)
        await select_.select_option("")
        await form.locator("button[type=submit]").click()
        await page.wait_for_function("document.querySelectorAll('form .ok').length === 1 && "
                                     "document.querySelector('select[name=topic]').value === ''")
        await world.emu.wait_for(lambda: groups.find(forum).topic_id is None, timeout=5)


async def test_admin_records_a_payout_by_username(world, tmp_path: Path) -> None:
    from tests.support.config import ADMIN_ID

    async with phone(init_data=world.init_data(OWNER), user=user_of(world, OWNER),
                     start_param="d_6") as page:
        await open_app(world, page, OWNER)
        await page.wait_for_selector("#share")
        await page.click("#share")
        await wait_for_telegram(page, "window.__tg.shared.length === 1")
        prepared_id = (await page.evaluate("window.__tg.shared"))[0]
    message = world.emu.share_prepared_message(OWNER, prepared_id, world.group)
    tap = world.emu.tap_button(MEMBER, message, buttons(message)[0]["callback_data"])
    start_url = (await world.emu.wait_callback_answer(tap, timeout=10))["url"]
    world.emu.open_start_link(MEMBER, start_url)
    await world.emu.wait_for(lambda: bool(world.emu.sent(chat_id=MEMBER)), timeout=10)
    status, location = await click(buttons(world.emu.sent(chat_id=MEMBER)[-1])[0]["url"],
                                   **{"user-agent": "Mozilla/5.0"})
    await world.kocbot.clicks.flush()
    await postback(world.kocbot, {"click_id": subid(location), "order_id": "BR-2", "amount": "399.00",
                                  "status": "confirmed"})
    world.clock.advance(days=16)
    world.kocbot.services.orders.settle()
    with world.kocbot.db.transaction() as session:
        session.get_one(User, OWNER).username = "olga_deals"
    async with phone(init_data=world.init_data(ADMIN_ID), user=user_of(world, ADMIN_ID)) as page:
        await open_app(world, page, ADMIN_ID)
        await page.click("[data-tab=admin]")
        form = page.locator("form#payout")
        await form.locator("input[name=user]").fill("@Olga_Deals")
        await form.locator("input[name=amount]").fill("12.00")
        await form.locator("button[type=submit]").click()
        await form.locator(".ok").wait_for()
        assert "@olga_deals" in await form.locator(".ok").inner_text()
        await page.wait_for_function("document.querySelector('#balances b').textContent === '¥41.87'")
        await page.screenshot(path=str(tmp_path / "admin-payout.png"), full_page=True)
    with world.kocbot.db.transaction() as session:
        assert [(p.user_id, p.amount) for p in session.scalars(select(Payout))] == [(OWNER, 1200)]
