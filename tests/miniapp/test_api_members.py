"""Members: search in the bot's order (Chinese words, category, price, discount), a deal's
page, and Buy giving the same tracked link and attribution as the chat's Get link button."""

from __future__ import annotations

from sqlalchemy import select

from bot.storage.models import Link
from tests.miniapp.conftest import MEMBER, OWNER
from tests.support.flow import click, subid


async def deals(world, user: int = MEMBER, **params: str) -> dict:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    response = await world.call(user, "GET", f"/app/api/deals?{query}")
    assert response.status_code == 200, response.text
    return response.json()


async def test_search_by_chinese_words_category_price_and_discount(world) -> None:
    found = await deals(world, q="保温杯")
    # The sold-out one is left out; the deeper discount ranks first, as the bot ranks.
    assert [d["sku"] for d in found["deals"]] == ["TH2", "TH1"]
    first = found["deals"][0]
    assert first == {"id": 2, "sku": "TH2", "merchant": "acme", "title": "保温杯 1L 大容量",
                     "price": "59.00", "original_price": "99.00", "currency": "CNY", "image": "",
                     "ends_at": None, "category": "home", "discount": 40, "stock": 100}
    assert found["next_offset"] is None
    assert [d["sku"] for d in (await deals(world, q="耳机"))["deals"]] == ["EB1"]
    assert [d["sku"] for d in (await deals(world, q="保温杯 1l"))["deals"]] == ["TH2"]
    # Featured first, then by discount and commission.
    assert [d["sku"] for d in (await deals(world))["deals"]] == ["EB2", "RC1", "EB1", "TH2", "TH1"]
    assert [d["sku"] for d in (await deals(world, category="tech"))["deals"]] == ["EB2", "EB1"]
    assert [d["sku"] for d in (await deals(world, min_price="50", max_price="100.00"))["deals"]] == [
        "EB1", "TH2"]
    assert [d["sku"] for d in (await deals(world, min_discount="45"))["deals"]] == ["RC1", "EB1"]
    # The exact sku comes first, as for the Share button's "@bot <sku>".
    assert [d["sku"] for d in (await deals(world, q="th1"))["deals"]] == ["TH1"]
    rc1 = (await deals(world, q="电饭煲"))["deals"][0]
    assert rc1["ends_at"] == "2026-12-30T16:00:00+00:00" and rc1["merchant"] == "bmart"


async def test_paging_and_bad_parameters(world) -> None:
    big = "\n".join(f"acme,P{n},保温杯 款{n},https://shop.example/q/{n},10.00,20.00,10%,home,,,,,,CNY"
                    for n in range(45)).encode()
    world.kocbot.services.catalog.import_feed(
        b"merchant,sku,title,url,price,original_price,commission_rate,category,image_url,starts_at,"
        b"ends_at,stock,featured,currency\n" + big + b"\n", filename="more.csv")
    seen = []
    offset = 0
    while offset is not None:
        page = await deals(world, q="款", offset=str(offset))
        seen += [d["sku"] for d in page["deals"]]
        offset = page["next_offset"]
    assert len(seen) == 45 and len(set(seen)) == 45
    for bad in ("offset=-1", "offset=99999999999", "offset=x", "min_price=abc", "max_price=1e999",
                "min_price=0.001", "min_discount=100"):
        response = await world.call(MEMBER, "GET", f"/app/api/deals?{bad}")
        assert response.status_code == 400, (bad, response.text)
        assert response.json()["error"]


async def test_deal_page_and_unknown_deal(world) -> None:
    response = await world.call(MEMBER, "GET", "/app/api/deals/6")
    page = response.json()
    assert (page["sku"], page["stock"], page["live"], page["discount"]) == ("RC1", 7, True, 50)
    assert page["card"].endswith("/card/6.jpg") and page["original_price"] == "399.00"
    sold_out = (await world.call(MEMBER, "GET", "/app/api/deals/5")).json()
    assert sold_out["live"] is False
    for path in ("/app/api/deals/999", "/app/api/deals/abc", "/app/api/deals/" + "9" * 40):
        assert (await world.call(MEMBER, "GET", path)).status_code == 404


async def test_buy_gives_the_tracked_link_that_redirects_with_a_click_id(world) -> None:
    response = await world.call(OWNER, "POST", "/app/api/deals/6/buy")
    assert response.status_code == 200, response.text
    url = response.json()["url"]
    assert url.startswith(world.kocbot.config.web.public_url + "/c/")
    status, location = await click(url, **{"user-agent": "Mozilla/5.0"})
    assert status == 302 and location.startswith("https://bmart.example/rc?from=tg&subid=")
    assert subid(location)
    # Same link again, and the attribution of the /deals "Get link" button: the registered
    # promoter buying for themselves is their own promoter; a member who never registered has none.
    assert (await world.call(OWNER, "POST", "/app/api/deals/6/buy")).json()["url"] == url
    member_url = (await world.call(MEMBER, "POST", "/app/api/deals/6/buy")).json()["url"]
    with world.kocbot.db.transaction() as session:
        links = {row.user_id: row for row in session.scalars(select(Link))}
    assert (links[OWNER].promoter_id, links[OWNER].post_id, links[OWNER].share_id) == (OWNER, None, None)
    assert links[MEMBER].promoter_id is None and member_url.endswith(links[MEMBER].code)
    assert (await world.call(MEMBER, "POST", "/app/api/deals/5/buy")).status_code == 410
    assert (await world.call(MEMBER, "POST", "/app/api/deals/77/buy")).status_code == 404
