"""``kocbot demo``: the real bot against the local Bot API emulator, offline, with a scripted story.

A partner-to-be invites a promoter; the promoter adds the bot to three groups with twenty
members; the scheduler posts cards at 09:00 Shanghai time; members tap Buy, open their links,
and buy; one order is refunded. The story ends with the /commission and /report answers.
"""

from __future__ import annotations

import asyncio
import io
import random
import socket
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from PIL import Image, ImageDraw
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.app import Kocbot
from bot.config import TierSettings, parse_config
from bot.demo_folder import FolderRefused, claim, record
from bot.domain.money import to_decimal
from bot.domain.postback import sign
from bot.emulator import Emulator
from bot.storage.db import upgrade
from bot.storage.models import Order

CATALOG = [
    ("jd", "TEA-01", "西湖龙井明前特级绿茶 250g", "59.00", "129.00", "12%", "food"),
    ("jd", "CUP-02", "Stainless steel thermos 500ml 保温杯", "39.00", "59.00", "10%", "home"),
    ("jd", "EAR-03", "Wireless earbuds with noise cancelling", "129.00", "299.00", "8%", "tech"),
    ("acme", "RICE-04", "五常大米 稻花香 5kg 新米", "69.90", "99.00", "6%", "food"),
    ("acme", "TOWEL-05", "Cotton bath towels, set of 3", "45.00", "79.00", "15%", "home"),
    ("acme", "LAMP-06", "护眼台灯 LED 三档调光", "89.00", "159.00", "11%", "home"),
    ("jd", "SNACK-07", "每日坚果 30包 礼盒装", "79.00", "128.00", "9%", "food"),
    ("acme", "CABLE-08", "USB-C fast charging cable 2m (2-pack)", "19.90", "39.90", "20%", "tech"),
    ("jd", "MASK-09", "补水保湿面膜 20片", "49.00", "99.00", "18%", "beauty"),
    ("acme", "BOTTLE-10", "Kids' water bottle with straw", "29.00", "49.00", "12%", "home"),
]
PALETTE = [(233, 84, 32), (46, 125, 50), (25, 118, 210), (123, 31, 162), (0, 137, 123),
           (251, 140, 0), (194, 24, 91), (69, 90, 100), (121, 85, 72), (3, 155, 229)]
ADMIN, PARTNER, PROMOTER = 1000, 1001, 1002
PROMOTER_USERNAME = "xiaopan"
# One invitee with a confirmed order makes Uma a mentor here; the defaults ask for more, which a
# short story cannot show. The demo says so when it starts.
DEMO_TIERS = {"mentor_min_active_invitees": 1, "partner_min_mentors": 1}
SECRET = "demo-postback-secret"  # noqa: S105 - the offline demo's own, not a real secret


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _product_image(n: int) -> bytes:
    """A simple, deterministic product photo stand-in."""
    color = PALETTE[n % len(PALETTE)]
    image = Image.new("RGB", (800, 800), (250, 247, 242))
    draw = ImageDraw.Draw(image)
    draw.ellipse((140, 140, 660, 660), fill=color)
    draw.rounded_rectangle((300, 250, 500, 560), radius=40, fill=(255, 255, 255))
    draw.rectangle((330, 200, 470, 260), fill=tuple(int(c * 0.7) for c in color))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


async def _image_server(port: int) -> uvicorn.Server:
    async def image(request: Request) -> Response:
        return Response(_product_image(int(request.path_params["n"])), media_type="image/png")

    app = Starlette(routes=[Route("/img/{n:int}.png", image)])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off", access_log=False))
    asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    return server


def _feed(image_port: int) -> bytes:
    lines = ["merchant,sku,title,url,price,original_price,commission_rate,category,image_url,stock,currency"]
    for n, (merchant, sku, title, price, original, rate, category) in enumerate(CATALOG):
        lines.append(f'{merchant},{sku},"{title}",https://{merchant}.shop.example/item/{sku},{price},'
                     f"{original},{rate},{category},http://127.0.0.1:{image_port}/img/{n}.png,500,CNY")
    return ("\n".join(lines) + "\n").encode()


class Story:
    """Prints the story as it happens."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.started:5.1f}s] {text}", flush=True)


async def run_demo(out: Path) -> int:
    """Run the whole story in ``out``; returns 0 on success, 2 when ``out`` cannot be used."""
    try:
        folder = claim(out)
    except FolderRefused as exc:
        print(f"kocbot: {exc}", file=sys.stderr)
        return 2
    try:
        return await _run(out)
    finally:
        record(folder)


async def _run(out: Path) -> int:
    story = Story()
    (out / "cards").mkdir(parents=True)
    db_url = f"sqlite:///{out / 'demo.db'}"
    upgrade(db_url)
    clock = {"now": datetime(2026, 11, 24, 0, 59, tzinfo=UTC)}  # 08:59 in Shanghai
    image_port, web_port = _free_port(), _free_port()
    images = await _image_server(image_port)
    async with Emulator(token="4242:DEMO-offline-token", bot_username="kocbot_demo_bot") as emu:  # noqa: S106
        config = parse_config({
            "telegram": {"token": emu.token, "base_url": emu.base_url, "admins": [ADMIN]},
            "database": {"url": db_url},
            "web": {"port": web_port, "public_url": f"http://127.0.0.1:{web_port}"},
            "postback": {"secret": SECRET},
            "tiers": DEMO_TIERS,
            # The product photos come from the demo's own server on 127.0.0.1, which a real
            # catalog may not use (private addresses are refused by default).
            "card": {"allow_private_image_urls": True},
            # No /metrics listener: the story needs none, and 9464 may be taken (a running bot).
            "metrics": {"port": 0},
        }, env={})
        kb = Kocbot(config, now=lambda: clock["now"], rng=random.Random(2026), cards_dir=out / "cards",
                    cache_dir=out / "cache", run_scheduler=False)
        await kb.start()
        try:
            await _story(story, emu, kb, clock, image_port)
        finally:
            await kb.stop()
            images.should_exit = True
    story.say(f"🖼  cards written to {out / 'cards'}; the database is {out / 'demo.db'}")
    _networks_hint(story)
    return 0


def _networks_hint(story: Story) -> None:
    """How the same story runs on a real JD Union account (the demo itself stays offline)."""
    story.say("🛍  with a JD Union account: set [networks.jd] app_key, app_secret, union_id and "
              "enabled = true, run `kocbot networks check jd`, then `kocbot run` imports JD goods, "
              "gives each member a JD link and books JD's order rows (docs/NETWORKS.md)")


async def _reply(emu: Emulator, user: int, chat: int, text: str) -> dict[str, Any]:
    before = len(emu.sent(chat_id=chat))
    emu.send_command(user, chat, text)
    await emu.wait_for(lambda: len(emu.sent(chat_id=chat)) > before, timeout=20)
    return emu.sent(chat_id=chat)[before]


async def _story(story: Story, emu: Emulator, kb: Kocbot, clock: dict[str, datetime],
                 image_port: int) -> None:
    defaults = TierSettings()
    story.say(f"⚙️  demo tiers: a mentor needs {DEMO_TIERS['mentor_min_active_invitees']} active invitee "
              f"(default {defaults.mentor_min_active_invitees}), a partner "
              f"{DEMO_TIERS['partner_min_mentors']} mentor (default {defaults.partner_min_mentors}), "
              "so a short story reaches them")
    result = kb.services.catalog.import_feed(_feed(image_port), filename="catalog.csv")
    story.say(f"📦 imported {result.created} products (Chinese and English titles)")

    emu.add_user(ADMIN, "Ada", language_code="en")
    emu.add_user(PARTNER, "Uma", language_code="en")
    emu.add_user(PROMOTER, "小潘", username=PROMOTER_USERNAME, language_code="zh-hans")
    await _reply(emu, PARTNER, PARTNER, "/start")
    invite = (await _reply(emu, PARTNER, PARTNER, "/invite"))["text"].split()[-1]
    story.say(f"👤 Uma registers and shares her invite link {invite}")
    emu.open_start_link(PROMOTER, invite)
    await emu.wait_for(lambda: emu.sent(chat_id=PROMOTER), timeout=10)
    story.say("👤 小潘 opens it and becomes a promoter with Uma as upline")

    members = list(range(2001, 2021))
    names = ["Mei", "Li", "Wang", "Zhao", "Chen", "Lin", "Zhou", "Wu", "Xu", "Sun",
             "Ma", "Hu", "Guo", "He", "Gao", "Luo", "Zheng", "Liang", "Xie", "Song"]
    for uid, name in zip(members, names, strict=True):
        emu.add_user(uid, name, language_code="zh-hans" if uid % 2 else "en")
    groups: list[int] = []
    titles: dict[int, str] = {}
    home: dict[int, int] = {}
    for n, title in enumerate(["宝妈好物群", "Office Deals", "吃货联盟"]):
        chat = emu.create_group(title, admins=[PROMOTER], members=members[n * 7:(n + 1) * 7])
        emu.add_bot_to_group(chat, PROMOTER)
        groups.append(chat)
        titles[chat] = title
        home.update({uid: chat for uid in members[n * 7:(n + 1) * 7]})
    await emu.wait_for(lambda: all(emu.sent(chat_id=c) for c in groups), timeout=10)
    story.say(f"👥 小潘 adds the bot to 3 groups with {len(members)} members; each is claimed at once")
    await _reply(emu, PROMOTER, groups[2], "/categories food")
    story.say("⚙️  吃货联盟 only wants food deals (/categories food)")

    clock["now"] = datetime(2026, 11, 24, 1, 0, 5, tzinfo=UTC)
    queued = await kb.tick()
    await emu.wait_for(lambda: all(emu.sent(chat_id=c, method="sendPhoto") for c in groups), timeout=30)
    story.say(f"⏰ 09:00 Asia/Shanghai: the scheduler queues {queued} posts")
    for chat in groups:
        card = emu.sent(chat_id=chat, method="sendPhoto")[-1]
        title = card["caption"].splitlines()[0]
        story.say(f"   🃏 {titles[chat]}: {title}")

    links: dict[int, str] = {}
    async with httpx.AsyncClient() as http:
        for uid in members[:15]:
            chat = home[uid]
            card = emu.sent(chat_id=chat, method="sendPhoto")[-1]
            data = card["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
            query = emu.tap_button(uid, card, data)
            answer = await emu.wait_callback_answer(query, timeout=10)
            before = len(emu.sent(chat_id=uid))
            emu.open_start_link(uid, answer["url"])
            await emu.wait_for(lambda u=uid, b=before: len(emu.sent(chat_id=u)) > b, timeout=10)
            reply = emu.sent(chat_id=uid)[-1]
            links[uid] = reply["reply_markup"]["inline_keyboard"][0][0]["url"]
        story.say(f"🛒 {len(links)} members tap Buy and get personal links in private")
        await http.get(next(iter(links.values())), headers={"user-agent": "TelegramBot (like TwitterBot)"})
        clicks: dict[int, str] = {}
        for uid, url in links.items():
            response = await http.get(url, headers={"user-agent": "Mozilla/5.0 (iPhone)"})
            clicks[uid] = response.headers["location"].rsplit("subid=", 1)[1]
        story.say(f"🔗 {len(clicks)} clicks redirect to the shops (plus 1 link-preview bot hit, not counted)")
        await kb.clicks.flush()

        buyers = members[:6]
        for n, uid in enumerate(buyers):
            amount = ["39.00", "129.00", "59.00", "45.00", "79.00", "69.90"][n]
            await _postback(http, kb, clicks[uid], f"ORD-{n + 1}", amount, "pending")
        story.say(f"🧾 the shops report {len(buyers)} orders (pending)")
        for n in range(len(buyers)):
            await _postback(http, kb, clicks[buyers[n]], f"ORD-{n + 1}", "", "confirmed")
        story.say("✅ all 6 orders are confirmed")
        kb.services.promoters.recompute_tiers()
        tier = kb.services.promoters.get(PARTNER).tier
        story.say(f"🏅 Uma's tier is now {tier}: 小潘, whom she invited, has confirmed orders")
        buyer = members[6]
        await _postback(http, kb, clicks[buyer], "ORD-7", "89.00", "pending")
        await _postback(http, kb, clicks[buyer], "ORD-7", "", "confirmed")
        story.say("🧾 one more order, now with Uma's mentor override")
        await _postback(http, kb, clicks[buyers[1]], "ORD-2", "", "refunded")
        story.say("↩️  ORD-2 (¥129.00) is refunded: its commission is reversed, not deleted")

    clock["now"] += timedelta(days=16)
    settled = kb.services.orders.settle()
    story.say(f"📅 16 days later, {settled} orders settle and become payable")
    payout = f"/payout @{PROMOTER_USERNAME} 10.00"
    answer = await _reply(emu, ADMIN, ADMIN, payout)
    story.say(f"💬 Ada (admin) → {payout}\n{_indent(answer['text'])}")

    for uid, who in ((PROMOTER, "小潘"), (PARTNER, "Uma")):
        answer = await _reply(emu, uid, uid, "/commission")
        story.say(f"💬 {who} → /commission\n{_indent(answer['text'])}")
    charts = len(emu.sent(chat_id=groups[0], method="sendPhoto"))
    report = await _reply(emu, PROMOTER, groups[0], "/report all")
    story.say(f"💬 小潘 in {titles[groups[0]]} → /report all\n{_indent(report['text'])}")
    await emu.wait_for(lambda: len(emu.sent(chat_id=groups[0], method="sendPhoto")) > charts, timeout=20)
    chart = emu.sent(chat_id=groups[0], method="sendPhoto")[-1]
    data = emu.file_bytes(chart["photo"][-1]["file_id"])
    if data:
        target = (kb.cards.out_dir or Path(".")) / "report-chart.png"
        target.write_bytes(data)
        story.say(f"📊 the /report chart image is {target}")
    await _miniapp(story, emu, kb, clock)


async def _miniapp(story: Story, emu: Emulator, kb: Kocbot, clock: dict[str, datetime]) -> None:
    """The mini app as 小潘 opens it from the menu button (a screenshot if Chromium is here)."""
    from bot.web.miniapp.preview import screenshot

    init_data = emu.init_data(PROMOTER, auth_date=int(clock["now"].timestamp()))
    target = (kb.cards.out_dir or Path(".")) / "miniapp.png"
    story.say(await screenshot(url=f"{kb.config.web.public_url}/app/", init_data=init_data, target=target))


async def _postback(http: httpx.AsyncClient, kb: Kocbot, click_id: str, order_id: str, amount: str,
                    status: str) -> None:
    if not amount:  # a status update repeats the amount first reported
        with kb.db.transaction() as session:
            minor = session.scalar(select(Order.amount).where(Order.order_id == order_id))
        amount = str(to_decimal(minor, "CNY"))
    fields = {"click_id": click_id, "order_id": order_id, "status": status, "amount": amount}
    fields["sig"] = sign(fields, SECRET)
    response = await http.post(f"{kb.config.web.public_url}/postback", data=fields)
    response.raise_for_status()


def _indent(text: str) -> str:
    return "\n".join("        " + line for line in text.splitlines())
