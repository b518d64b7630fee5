"""``kocbot orders import`` and ``kocbot report`` (text and CSV) as real processes, checked
against the ledger."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from tests.support.clock import Clock
from tests.support.world import FEED, add_group, add_post, clicks, make_services, product_ids, register, tap
from tests.test_cli import kocbot


def test_orders_import_and_report_csv(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    url = f"sqlite:///{tmp_path / 'k.db'}"
    config.write_text(f'[database]\nurl = "{url}"\n[telegram]\ntoken = "1:T"\n')
    assert kocbot("db", "upgrade", "-c", str(config), cwd=tmp_path).returncode == 0
    s = make_services(url, Clock())
    s.catalog.import_feed(FEED, filename="feed.csv")
    register(s, 1, "Ro")
    group = add_group(s, -5, "Alpha", 1)
    ids = clicks(s, tap(s, add_post(s, group, product_ids(s)["SKU1"]), 7, "Mei"), 2)
    s.db.dispose()
    report = tmp_path / "orders.csv"
    report.write_text("order_id,click_id,amount,status,commission,ordered_at\n"
                      f"A1,{ids[0]},39.00,confirmed,,2026-11-20T10:00:00Z\n"
                      f"A2,{ids[1]},100.00,pending,7.77,\n"
                      "A3,unknownclick000,10.00,pending,,\n"
                      f"A1,{ids[0]},39.00,confirmed,,\n"
                      f"A4,{ids[0]},-1,pending,,\n")
    result = kocbot("orders", "import", str(report), "-c", str(config), cwd=tmp_path)
    assert result.returncode == 1, result.stderr  # one bad row
    assert result.stdout.strip() == ("orders: 5 rows: 3 new, 0 changed, 1 unchanged, 1 bad; "
                                     "1 of the new unattributed")
    # The reason names the field once ("amount: amount must be..." repeated it).
    assert result.stderr.strip() == "orders.csv:6: amount: must be greater than 0, got -1"

    result = kocbot("report", "--format", "csv", "-c", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    balances = {(r["user_id"], r["party"], r["bucket"]): Decimal(r["amount"])
                for r in rows if r["section"] == "balance"}
    from_entries: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for r in rows:
        if r["section"] == "entry":
            from_entries[(r["user_id"], r["party"], r["bucket"])] += Decimal(r["amount"])
    assert balances == dict(from_entries)
    # A1: pool 3.90 → platform 0.39, Ro 3.51 confirmed; A2: reported 7.77 → 0.78 / 6.99 pending;
    # A3: unattributed, 10% of nothing known → pool 0, nothing booked.
    assert balances == {("", "platform", "confirmed"): Decimal("0.39"),
                        ("1", "promoter", "confirmed"): Decimal("3.51"),
                        ("", "platform", "pending"): Decimal("0.78"),
                        ("1", "promoter", "pending"): Decimal("6.99")}
    assert {r["order_id"] for r in rows if r["section"] == "entry"} == {"A1", "A2"}

    text = kocbot("report", "--promoter", "1", "-c", str(config), cwd=tmp_path)
    assert "pending: ¥6.99" in text.stdout and "confirmed: ¥3.51" in text.stdout
    assert "clicks: 2 (unique 1), orders: 2" in text.stdout
    text = kocbot("report", "--group", "-5", "--since", "all", "-c", str(config), cwd=tmp_path)
    assert "Alpha: 2 clicks, 2 orders, sales ¥139.00, commission ¥11.67" in text.stdout
    bad = kocbot("report", "--since", "week", "-c", str(config), cwd=tmp_path)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
