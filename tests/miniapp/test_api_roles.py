"""What each role gets: /me, the promoter dashboard, a share attributed like an inline share,
group settings for the owner only (the group commands' rules), and admin views and payouts."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import delete, select

from bot.storage.models import Group, GroupTopic, Link, Payout, Share, User
from tests.miniapp.conftest import MEMBER, OWNER, STRANGER
from tests.support.config import ADMIN_ID
from tests.support.flow import buttons, click, command_reply, postback, subid


async def test_me_answers_each_role(world) -> None:
    owner = (await world.call(OWNER, "GET", "/app/api/me")).json()
    assert owner["user_id"] == OWNER and owner["tier"] == "promoter"
    assert owner["roles"] == {"admin": False, "owner": True, "promoter": True}
    assert owner["balances"] == {"pending": "0.00", "confirmed": "0.00", "payable": "0.00",
                                 "paid": "0.00", "reversed": "0.00"}
    member = (await world.call(MEMBER, "GET", "/app/api/me")).json()
    assert member["roles"] == {"admin": False, "owner": False, "promoter": False}
    admin = (await world.call(ADMIN_ID, "GET", "/app/api/me")).json()
    assert admin["roles"]["admin"] is True


async def _earn(world, amount: str = "399.00") -> str:
    """The member buys the rice cooker through the owner's shared card; returns the click id."""
    share = await world.call(OWNER, "POST", "/app/api/deals/6/share")
    assert share.status_code == 200, share.text
    prepared_id = share.json()["prepared_message_id"]
    prepared = world.emu.prepared_messages[prepared_id]
    assert prepared["user_id"] == OWNER and prepared["result"]["id"] == share.json()["share_code"]
    message = world.emu.share_prepared_message(OWNER, prepared_id, world.group)
    assert message["via_bot"]["username"] == world.emu.bot_user["username"]
    buy = buttons(message)[0]
    tap = world.emu.tap_button(MEMBER, message, buy["callback_data"])
    start_url = (await world.emu.wait_callback_answer(tap, timeout=10))["url"]
    before = len(world.emu.sent(chat_id=MEMBER))
    world.emu.open_start_link(MEMBER, start_url)
    await world.emu.wait_for(lambda: len(world.emu.sent(chat_id=MEMBER)) > before, timeout=10)
    status, location = await click(buttons(world.emu.sent(chat_id=MEMBER)[-1])[0]["url"],
                                   **{"user-agent": "Mozilla/5.0"})
    assert status == 302
    await world.kocbot.clicks.flush()
    return subid(location)


async def test_a_share_is_attributed_to_the_sharer_like_an_inline_share(world) -> None:
    click_id = await _earn(world)
    with world.kocbot.db.transaction() as session:
        share = session.scalars(select(Share)).one()
        link = session.scalars(select(Link).where(Link.user_id == MEMBER)).one()
    assert (share.sharer_id, share.product_id) == (OWNER, 6)
    assert (link.promoter_id, link.share_id, link.group_id) == (OWNER, share.id, None)
    response = await postback(world.kocbot, {"click_id": click_id, "order_id": "MA-1", "amount": "399.00",
                                         "status": "confirmed"})
    assert response.status_code == 200, response.text
    me = (await world.call(OWNER, "GET", "/app/api/me")).json()
    # pool 59.85 (15%), platform 10% → 5.98 (half-even of 5.985), the sharer the rest.
    assert me["balances"]["confirmed"] == "53.87"
    assert (await world.call(OWNER, "POST", "/app/api/deals/5/share")).status_code == 410


async def test_dashboard_shows_the_series_buckets_team_and_payouts(world) -> None:
    click_id = await _earn(world)
    await postback(world.kocbot, {"click_id": click_id, "order_id": "MA-2", "amount": "399.00",
                              "status": "confirmed"})
    world.clock.advance(days=16)
    world.kocbot.services.orders.settle()
    world.kocbot.services.orders.payout(user_id=OWNER, amount_text="20.00", admin_id=ADMIN_ID)
    d = (await world.call(OWNER, "GET", "/app/api/dashboard")).json()
    assert d["buckets"] == {"pending": "0.00", "confirmed": "0.00", "payable": "33.87", "paid": "20.00",
                            "reversed": "0.00"}
    assert len(d["series"]) == 30 and d["series"][-1]["date"] == world.clock().date().isoformat()
    earned_day = (world.clock() - timedelta(days=16)).date().isoformat()
    assert [p for p in d["series"] if p["amount"] != "0.00"] == [{"date": earned_day, "amount": "53.87"}]
    assert d["payouts"] == [{"amount": "20.00", "currency": "CNY", "at": d["payouts"][0]["at"]}]
    assert d["team"]["tier"] == "promoter" and d["team"]["next_tier"] == "mentor"
    assert d["team"]["missing"] == 5 and d["clicks"] == 1


async def test_group_settings_for_the_owner_only_with_the_command_rules(world) -> None:
    path = f"/app/api/groups/{world.group}"
    listed = (await world.call(OWNER, "GET", "/app/api/groups")).json()["groups"]
    assert [(g["chat_id"], g["times"], g["timezone"]) for g in listed] == [
        (world.group, ["09:00", "20:00"], "Asia/Shanghai")]
    assert (await world.call(STRANGER, "GET", "/app/api/groups")).json() == {"groups": []}
    for user in (STRANGER, MEMBER, ADMIN_ID):
        refused = await world.call(user, "POST", path, json={"times": ["07:00"]})
        assert refused.status_code == 403, refused.text
    unknown = await world.call(OWNER, "POST", "/app/api/groups/-999", json={"times": ["07:00"]})
    assert unknown.status_code == 403
    # A bad value anywhere writes nothing, and the reason is the /schedule or /timezone one.
    bad = await world.call(OWNER, "POST", path, json={"timezone": "Europe/Paris", "times": ["25:00"]})
    assert bad.status_code == 400 and "not a time like 09:00" in bad.json()["error"]
    bad = await world.call(OWNER, "POST", path, json={"timezone": "Mars/Base"})
    assert bad.status_code == 400 and "unknown time zone" in bad.json()["error"]
    for body in ({"times": 5}, {"paused": "yes"}, [1, 2]):
        assert (await world.call(OWNER, "POST", path, json=body)).status_code == 400
    huge = await world.call(OWNER, "POST", path, json={"categories": ["x" * 10] * 1000})
    assert huge.status_code == 413
    with world.kocbot.db.transaction() as session:
        group = session.scalars(select(Group).where(Group.chat_id == world.group)).one()
        assert (group.times, group.timezone, group.paused) == ("09:00 20:00", "Asia/Shanghai", False)
    ok = await world.call(OWNER, "POST", path, json={
        "times": ["21:30", "8:05"], "timezone": "Europe/London", "categories": ["Tech", "home"],
        "paused": True})
    assert ok.status_code == 200, ok.text
    group = ok.json()["group"]
    assert (group["times"], group["timezone"], group["categories"], group["paused"]) == (
        ["08:05", "21:30"], "Europe/London", ["home", "tech"], True)
    assert group["next_slot_at"] is not None
    text = (await command_reply(world.emu, user=OWNER, chat_id=OWNER, text="/groups"))["text"]
    assert "08:05 21:30" in text and "Europe/London" in text
    off = await world.call(OWNER, "POST", path, json={"times": [], "categories": "all", "paused": False})
    assert off.json()["group"]["times"] == [] and off.json()["group"]["categories"] == []


async def test_admin_views_and_payout_with_the_payout_rules(world) -> None:
    click_id = await _earn(world)
    await postback(world.kocbot, {"click_id": click_id, "order_id": "MA-3", "amount": "399.00",
                              "status": "confirmed"})
    for user in (OWNER, MEMBER):
        for method, path in (("GET", "/app/api/admin/stats"), ("GET", "/app/api/admin/balances"),
                             ("POST", "/app/api/admin/payout")):
            response = await world.call(user, method, path, json={"user": OWNER, "amount": "10.00"})
            assert response.status_code == 403, (user, path, response.text)
    stats = (await world.call(ADMIN_ID, "GET", "/app/api/admin/stats?window=7d")).json()
    assert (stats["orders"], stats["gmv"], stats["clicks"]) == (1, "399.00", 1)
    assert stats["commission_by_party"] == {"platform": "5.98", "promoter": "53.87"}
    assert stats["stars_spent"] is None  # paid broadcast off and never used: as /stats, no line
    assert (await world.call(ADMIN_ID, "GET", "/app/api/admin/stats?window=5x")).status_code == 400
    owed = (await world.call(ADMIN_ID, "GET", "/app/api/admin/balances")).json()["balances"]
    assert [(o["user_id"], o["confirmed"], o["payable"]) for o in owed] == [(OWNER, "53.87", "0.00")]
    # Not settled yet: nothing is payable.
    payout = "/app/api/admin/payout"
    early = await world.call(ADMIN_ID, "POST", payout, json={"user": OWNER, "amount": "10.00"})
    assert early.status_code == 409 and "settled balance" in early.json()["error"]
    world.clock.advance(days=16)
    world.kocbot.services.orders.settle()
    for body, status in (({"user": OWNER, "amount": "1.00"}, 409), ({"user": OWNER, "amount": "60.00"}, 409),
                         ({"user": OWNER, "amount": 10}, 400), ({"user": "x", "amount": "10"}, 400),
                         ({"user": 424242, "amount": "10.00"}, 404),
                         ({"user": "@nobody", "amount": "10.00"}, 404),
                         ({"user": True, "amount": "10.00"}, 400)):
        response = await world.call(ADMIN_ID, "POST", "/app/api/admin/payout", json=body)
        assert response.status_code == status, (body, response.text)
    paid = await world.call(ADMIN_ID, "POST", payout, json={"user": str(OWNER), "amount": "50.00"})
    assert paid.status_code == 200 and paid.json()["amount"] == "50.00"
    with world.kocbot.db.transaction() as session:
        assert [(p.user_id, p.amount, p.admin_id) for p in session.scalars(select(Payout))] == [
            (OWNER, 5000, ADMIN_ID)]


async def test_payout_names_the_user_as_payout_does_by_id_or_username(world) -> None:
    """The app's payout form takes what /payout takes: a user id or an @username (any case)."""
    world.emu.add_user(MEMBER + 100, "Vic", username="VicKoc")
    await command_reply(world.emu, user=MEMBER + 100, chat_id=MEMBER + 100, text="/start")
    click_id = await _earn(world)
    await postback(world.kocbot, {"click_id": click_id, "order_id": "MA-4", "amount": "399.00",
                                  "status": "confirmed"})
    world.clock.advance(days=16)
    world.kocbot.services.orders.settle()
    with world.kocbot.db.transaction() as session:
        session.get_one(User, OWNER).username = "olga_deals"
    payout = "/app/api/admin/payout"
    refused = await world.call(OWNER, "POST", payout, json={"user": "@olga_deals", "amount": "10.00"})
    assert refused.status_code == 403
    nobody = await world.call(ADMIN_ID, "POST", payout, json={"user": "@VicKoc", "amount": "10.00"})
    assert nobody.status_code == 409 and "settled balance" in nobody.json()["error"]
    paid = await world.call(ADMIN_ID, "POST", payout, json={"user": "@Olga_Deals", "amount": "12.00"})
    assert paid.status_code == 200, paid.text
    answer = paid.json()
    assert (answer["user"], answer["username"], answer["amount"]) == (OWNER, "olga_deals", "12.00")
    chat = (await command_reply(world.emu, user=ADMIN_ID, chat_id=ADMIN_ID, text="/payout @olga_deals 10.00"))
    assert "@olga_deals" in chat["text"]
    with world.kocbot.db.transaction() as session:
        assert [(p.user_id, p.amount) for p in session.scalars(select(Payout).order_by(Payout.id))] == [
            (OWNER, 1200), (OWNER, 1000)]


async def test_forum_topic_chosen_in_the_app_with_the_topic_rules(world) -> None:
    """The owner picks a topic the bot has seen (its creation, or /topic sent inside it); a
    topic it never saw is refused with the /topic hint; the next post goes into the topic."""
    forum = world.emu.create_group("Forum deals", admins=[OWNER], members=[MEMBER], forum=True)
    world.emu.add_bot_to_group(forum, OWNER)
    services = world.kocbot.services
    await world.emu.wait_for(lambda: services.groups.find(forum) is not None, timeout=10)
    deals = world.emu.create_topic(forum, "每日好物")
    chat = world.emu.create_topic(forum, "Chat")
    await world.emu.wait_for(lambda: len(services.groups.topics(forum)) == 2, timeout=10)
    listed = {g["chat_id"]: g for g in (await world.call(OWNER, "GET", "/app/api/groups")).json()["groups"]}
    assert listed[forum]["topics"] == [{"id": chat, "name": "Chat"}, {"id": deals, "name": "每日好物"}]
    assert listed[forum]["topic_id"] is None and listed[world.group]["topics"] == []
    path = f"/app/api/groups/{forum}"
    for user in (STRANGER, MEMBER, ADMIN_ID):
        assert (await world.call(user, "POST", path, json={"topic": deals})).status_code == 403
    unseen = await world.call(OWNER, "POST", path, json={"topic": deals + 1000, "paused": True})
    assert unseen.status_code == 400 and "/topic" in unseen.json()["error"]
    for bad in ("x", True, -1, 1.5):
        assert (await world.call(OWNER, "POST", path, json={"topic": bad})).status_code == 400
    other = await world.call(OWNER, "POST", f"/app/api/groups/{world.group}", json={"topic": deals})
    assert other.status_code == 400  # a topic of another group
    assert services.groups.find(forum).topic_id is None and services.groups.find(forum).paused is False
    ok = await world.call(OWNER, "POST", path, json={"topic": deals})
    assert ok.status_code == 200 and ok.json()["group"]["topic_id"] == deals
    before = len(world.emu.sent(chat_id=forum))
    await command_reply(world.emu, user=OWNER, chat_id=forum, text="/post")
    await world.emu.wait_for(lambda: any(m.get("photo") for m in world.emu.sent(chat_id=forum)[before:]),
                             timeout=10)
    card = next(m for m in world.emu.sent(chat_id=forum)[before:] if m.get("photo"))
    assert card["message_thread_id"] == deals
    main = await world.call(OWNER, "POST", path, json={"topic": None})
    assert main.status_code == 200 and main.json()["group"]["topic_id"] is None
    # /topic in a topic the bot never saw created: it is known from then on, for the app too.
    with world.kocbot.db.transaction() as session:
        session.execute(delete(GroupTopic))
    world.emu.send_command(OWNER, forum, "/topic", message_thread_id=chat)
    await world.emu.wait_for(lambda: services.groups.find(forum).topic_id == chat, timeout=10)
    assert [t.thread_id for t in services.groups.topics(forum)] == [chat]


async def test_admin_stats_show_the_stars_paid_broadcast_cost_as_stats_does(emulator, kocbot_factory) -> None:
    emu = emulator
    kocbot = await kocbot_factory(config={"telegram": {"paid_broadcast": True}})
    emu.add_user(ADMIN_ID, "Ada")
    auth = "tma " + emu.init_data(ADMIN_ID, auth_date=int(kocbot.services.now().timestamp()))
    async with httpx.AsyncClient(base_url=kocbot.config.web.public_url) as client:
        answer = (await client.get("/app/api/admin/stats?window=all", headers={"Authorization": auth})).json()
    chat = (await command_reply(emu, user=ADMIN_ID, chat_id=ADMIN_ID, text="/stats all"))["text"]
    assert answer["stars_spent"] == "0" and "Paid broadcast: 0 Stars spent" in chat
