"""docs/MERCHANTS.md is executable: its signing examples are run against a real server, its
worked signatures are checked, and its feed and order samples parse."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
import shutil
from pathlib import Path

import pytest

from bot.domain.postback import parse_report_row, sign
from bot.storage.models import Order
from tests.support.config import POSTBACK_SECRET
from tests.support.feed import parse_feed
from tests.support.world import FEED, add_group, add_post, clicks, product_ids, register, tap

DOC = Path(__file__).resolve().parents[1] / "docs" / "MERCHANTS.md"
TEXT = DOC.read_text()


def example(name: str) -> str:
    """The fenced block right after ``<!-- example: name -->``."""
    match = re.search(rf"<!-- example: {name} -->\n```\w+\n(.*?)\n```", TEXT, re.DOTALL)
    assert match, f"no example {name!r} in {DOC.name}"
    return match.group(1) + "\n"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)\n```", TEXT, re.DOTALL)


def test_worked_signatures_are_right() -> None:
    fields = {"click_id": "k3Jx9QaZ2mWp", "order_id": "A-1001", "amount": "39.00", "status": "pending"}
    assert "`amount=39.00&click_id=k3Jx9QaZ2mWp&order_id=A-1001&status=pending`" in TEXT
    assert f"`sig` = `{sign(fields, 's3cret')}`" in TEXT
    full = {**fields, "commission": "3.90", "currency": "CNY", "ts": "2026-12-01T10:00:00+08:00"}
    assert f"`sig` = `{sign(full, 's3cret')}`" in TEXT


def test_feed_and_order_samples_parse() -> None:
    sample_csv, = blocks("csv")[:1]
    result = parse_feed(sample_csv.encode(), filename="feed.csv", default_currency="CNY")
    expected = [("A1", True), ("A2", False)]
    assert result.errors == [] and [(r.sku, r.active) for _, r in result.rows] == expected
    sample_json, = blocks("json")
    result = parse_feed(sample_json.encode(), filename="feed.json", default_currency="CNY")
    assert result.errors == [] and [(r.sku, r.active) for _, r in result.rows] == expected
    orders = blocks("csv")[1]
    for row in csv.DictReader(io.StringIO(orders)):
        parse_report_row(row, default_currency="CNY")


# (example, the program that runs it, the tools it needs)
RUNNERS = {
    "shell": (["sh"], ["sh", "openssl", "curl"]),
    "python": (["python3"], ["python3"]),
    "php": (["php"], ["php"]),
}


@pytest.mark.parametrize("name", list(RUNNERS))
async def test_signing_example_is_accepted_by_a_real_server(
        kocbot, tmp_path: Path, name: str) -> None:
    command, tools = RUNNERS[name]
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed here (.ci/run installs php-cli for CI)")
    s = kocbot.services
    s.catalog.import_feed(FEED, filename="feed.csv")
    register(s, 1, "Ro")
    click = clicks(s, tap(s, add_post(s, add_group(s, -5, "Alpha", 1), product_ids(s)["SKU1"]), 7))[0]
    script = tmp_path / f"example.{name}"
    script.write_text(example(name))
    order_id = f"DOC-{name}"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "BOT_URL": kocbot.config.web.public_url,
           "POSTBACK_SECRET": POSTBACK_SECRET, "CLICK_ID": click, "ORDER_ID": order_id}
    proc = await asyncio.create_subprocess_exec(*command, str(script), env=env,
                                                stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode()
    assert out.decode().split()[0] == "200", (out.decode(), err.decode())
    with s.db.transaction() as session:
        order = session.query(Order).filter_by(order_id=order_id).one()
        assert (order.status, order.amount, order.click_id) == ("pending", 3900, click)
    # The same example with a wrong secret is refused: the signature really is checked.
    env["POSTBACK_SECRET"] = "not-the-secret"
    env["ORDER_ID"] = f"{order_id}-forged"
    proc = await asyncio.create_subprocess_exec(*command, str(script), env=env,
                                                stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert out.decode().split()[0] == "401"
