"""``products import`` and ``orders import`` as real processes: exit codes for cron, the
new/changed/unchanged/bad summary, GB18030/GBK files, and a feed that ends a deal."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx

from tests.support.flow import FEED_HEADER, feed_csv
from tests.support.world import FEED, add_group, add_post, make_services, product_ids, register, tap
from tests.test_cli import kocbot

A1 = "acme,A1,保温杯 Thermos,https://shop.example/a1,39.00,59.00,10%,home,,,,,,CNY"
A2 = "acme,A2,Tea set,https://shop.example/a2,128.50,150.00,12.5%,home,,,,,,CNY"


def config_for(tmp_path: Path, url: str | None = None) -> Path:
    path = tmp_path / "k.toml"
    url = url or f"sqlite:///{tmp_path / 'k.db'}"
    path.write_text(f'[database]\nurl = "{url}"\n')
    return path


def test_products_exit_codes_and_summary(tmp_path: Path) -> None:
    config = str(config_for(tmp_path))
    feed = tmp_path / "feed.csv"
    feed.write_bytes(feed_csv(A1, A2))
    first = kocbot("products", "import", str(feed), "-c", config, cwd=tmp_path)
    assert (first.returncode, first.stdout.strip()) == (0, "2 rows: 2 new, 0 changed, 0 unchanged, 0 bad")
    again = kocbot("products", "import", str(feed), "-c", config, cwd=tmp_path)
    assert (again.returncode, again.stdout.strip()) == (0, "2 rows: 0 new, 0 changed, 2 unchanged, 0 bad")
    feed.write_bytes(feed_csv(A1.replace("39.00", "35.00"), A2,
                              "acme,A3,Bad,https://shop.example/a3,10,12,-5%,,,,,,,CNY"))
    mixed = kocbot("products", "import", str(feed), "-c", config, cwd=tmp_path)
    assert mixed.returncode == 1
    assert mixed.stdout.strip() == "3 rows: 0 new, 1 changed, 1 unchanged, 1 bad"
    assert mixed.stderr.strip() == ("feed.csv:4: commission_rate cannot be negative, got '-5%'; "
                                    "write 0 for none")
    (tmp_path / "cols.csv").write_text("merchant,sku\nacme,A1\n")
    refused = kocbot("products", "import", str(tmp_path / "cols.csv"), "-c", config, cwd=tmp_path)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.startswith(f"kocbot: {tmp_path / 'cols.csv'}: missing required columns title")
    missing = kocbot("products", "import", str(tmp_path / "nope.csv"), "-c", config, cwd=tmp_path)
    assert missing.returncode == 2 and missing.stderr.strip() == f"kocbot: no file {tmp_path / 'nope.csv'}"


def test_products_gbk_csv_is_detected(tmp_path: Path) -> None:
    config = str(config_for(tmp_path))
    feed = tmp_path / "excel.csv"
    feed.write_bytes((FEED_HEADER + A1.replace("home", "家居") + "\n").encode("gbk"))
    result = kocbot("products", "import", str(feed), "-c", config, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1 rows (read as GB18030/GBK): 1 new, 0 changed, 0 unchanged, 0 bad"
    exported = kocbot("export", "products", "--format", "jsonl", "-c", config, cwd=tmp_path)
    assert '"title": "保温杯 Thermos"' in exported.stdout and '"category": "家居"' in exported.stdout
    (tmp_path / "junk.csv").write_bytes(FEED_HEADER.encode() + b"\xff\xfe\xff\n")
    junk = kocbot("products", "import", str(tmp_path / "junk.csv"), "-c", config, cwd=tmp_path)
    assert junk.returncode == 2 and "not UTF-8 text" in junk.stderr


def seeded_orders(tmp_path: Path) -> tuple[Path, str]:
    """A database with the standard catalog and one click; returns (config, click id)."""
    url = f"sqlite:///{tmp_path / 'k.db'}"
    config = config_for(tmp_path, url)
    assert kocbot("db", "upgrade", "-c", str(config), cwd=tmp_path).returncode == 0
    from tests.support.clock import Clock
    from tests.support.world import clicks

    s = make_services(url, Clock())
    s.catalog.import_feed(FEED, filename="feed.csv")
    register(s, 1, "Ro")
    group = add_group(s, -5, "Alpha", 1)
    click = clicks(s, tap(s, add_post(s, group, product_ids(s)["SKU1"]), 7, "Mei"))[0]
    s.db.dispose()
    return config, click


def test_orders_exit_codes_and_summary(tmp_path: Path) -> None:
    config, click = seeded_orders(tmp_path)
    report = tmp_path / "orders.csv"
    report.write_text(f"order_id,click_id,amount,status\nO1,{click},39.00,pending\n")
    first = kocbot("orders", "import", str(report), "-c", str(config), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == ("orders: 1 rows: 1 new, 0 changed, 0 unchanged, 0 bad; "
                                    "0 of the new unattributed")
    report.write_text(f"order_id,click_id,amount,status\nO1,{click},39.00,pending\n"
                      f"O1,{click},39.00,confirmed\nO2,{click},abc,pending\nO3,{click},1,shipped\n")
    mixed = kocbot("orders", "import", str(report), "-c", str(config), cwd=tmp_path)
    assert mixed.returncode == 1
    assert mixed.stdout.strip() == ("orders: 4 rows: 0 new, 1 changed, 1 unchanged, 2 bad; "
                                    "0 of the new unattributed")
    # Each reason names its field once.
    assert mixed.stderr.splitlines() == [
        "orders.csv:4: amount: 'abc' is not a decimal number",
        "orders.csv:5: status: 'shipped' is not one of pending, confirmed, cancelled, refunded",
    ]
    report.write_text("order_id,amount\nO9,1\n")
    refused = kocbot("orders", "import", str(report), "-c", str(config), cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.strip().endswith("the order report lacks the column(s): click_id, status")


def test_orders_gbk_csv_is_detected(tmp_path: Path) -> None:
    config, click = seeded_orders(tmp_path)
    report = tmp_path / "orders.csv"
    report.write_bytes(f"order_id,click_id,amount,status\n订单1,{click},39.00,pending\n"
                       .encode("gbk"))
    result = kocbot("orders", "import", str(report), "-c", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ("orders: 1 rows (read as GB18030/GBK): 1 new, 0 changed, 0 unchanged, "
                                     "0 bad; 0 of the new unattributed")
    exported = kocbot("export", "orders", "--format", "jsonl", "-c", str(config), cwd=tmp_path)
    assert '"order_id": "订单1"' in exported.stdout


async def run_cli(*args: str, cwd: Path) -> tuple[int, str, str]:
    """The CLI as a process, awaited: the web server under test shares this event loop."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path.cwd())},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_a_feed_ends_a_deal_and_its_link_answers_410(
        kocbot, tmp_path: Path) -> None:
    s = kocbot.services
    s.catalog.import_feed(FEED, filename="feed.csv")
    register(s, 1, "Ro")
    ids = product_ids(s)
    group = add_group(s, -5, "Alpha", 1)
    ends = tap(s, add_post(s, group, ids["SKU1"]), 7, "Mei")
    stops = tap(s, add_post(s, group, ids["SKU2"]), 7, "Mei")
    base = kocbot.config.web.public_url
    async with httpx.AsyncClient(base_url=base, follow_redirects=False) as client:
        for code in (ends, stops):  # both links redirect, and the web server caches them
            assert (await client.get(f"/c/{code}")).status_code == 302
        config = config_for(tmp_path, kocbot.config.database.url)
        feed = tmp_path / "end.csv"
        feed.write_text(FEED_HEADER.strip() + ",active\n"
                        "acme,SKU1,Thermos 500ml,https://shop.example/p/1,39.00,59.00,10%,home,,,2020-01-01,,,CNY,\n"
                        "acme,SKU2,Wireless earbuds,https://shop.example/p/2,99.00,199.00,0.08,tech,,,,,,CNY,false\n")
        code, out, err = await run_cli("products", "import", str(feed), "-c", str(config), cwd=tmp_path)
        assert code == 0, err
        assert out.strip() == "2 rows: 0 new, 2 changed, 0 unchanged, 0 bad; 2 deals ended"
        # The link cache may serve the old target for its TTL (10 s); after that, 410.
        statuses: dict[str, int] = {}
        for _ in range(150):
            statuses = {c: (await client.get(f"/c/{c}")).status_code for c in (ends, stops)}
            if set(statuses.values()) == {410}:
                break
            await asyncio.sleep(0.1)
        assert statuses == {ends: 410, stops: 410}
