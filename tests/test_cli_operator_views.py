"""Operator views as real processes against a seeded database, on SQLite and PostgreSQL:
``groups``, ``balances``, ``export``, ``payout`` and ``report --format csv --group --since``."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bot.domain.postback import parse_report_row
from bot.services.promoters import Person
from tests.support.clock import Clock
from tests.support.world import FEED, add_group, add_post, clicks, make_services, product_ids, tap
from tests.test_cli import kocbot

RO, MO = 1, 2


@pytest.fixture
def seeded(db_url: str, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """Two groups with one order each: an old settled one in Alpha, a recent pending one in Beta.

    The clock is real time minus 40 days, then now, because the CLI runs on the real clock.
    """
    clock = Clock(datetime.now(UTC) - timedelta(days=40))
    s = make_services(db_url, clock)
    s.catalog.import_feed(FEED, filename="feed.csv")
    s.promoters.register(Person(id=RO, first_name="Ro", username="ro_sells"))
    s.promoters.register(Person(id=MO, first_name="Mo"))
    alpha = add_group(s, -5, "Alpha", RO)
    beta = add_group(s, -6, "Beta", MO)
    ids = product_ids(s)
    old_click = clicks(s, tap(s, add_post(s, alpha, ids["SKU1"]), 7, "Mei"))[0]
    report = {"order_id": "OLD-1", "click_id": old_click, "amount": "200.00", "status": "confirmed"}
    s.orders.ingest(parse_report_row(report, default_currency="CNY"), source="csv", promoters=s.promoters)
    clock.advance(days=20)
    assert s.orders.settle() == 1  # OLD-1: 20.00 pool → Ro 18.00 payable, platform 2.00
    clock.set(datetime.now(UTC))
    new_click = clicks(s, tap(s, add_post(s, beta, ids["SKU2"]), 8, "Lin"))[0]
    report = {"order_id": "NEW-2", "click_id": new_click, "amount": "50.00", "status": "pending",
              "commission": "5.00"}
    s.orders.ingest(parse_report_row(report, default_currency="CNY"), source="csv", promoters=s.promoters)
    s.db.dispose()
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n[commission]\nmin_payout = "1.00"\n')
    return config, {"old_click": old_click, "new_click": new_click}


def run(config: Path, *args: str) -> tuple[int, str, str]:
    result = kocbot(*args, "-c", str(config), cwd=config.parent)
    return result.returncode, result.stdout, result.stderr


def table(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text), delimiter="\t"))


def test_groups_lists_every_group_and_filters_by_owner(seeded) -> None:
    config, _ = seeded
    code, out, err = run(config, "groups")
    assert code == 0, err
    rows = table(out)
    assert [(r["chat_id"], r["title"], r["owner"], r["paused"]) for r in rows] == [
        ("-5", "Alpha", "1 @ro_sells", "no"), ("-6", "Beta", "2 Mo", "no")]  # added together: by id
    assert rows[0]["schedule"] == "09:00 Asia/Shanghai"
    code, out, _ = run(config, "groups", "--owner", "1")
    assert [r["title"] for r in table(out)] == ["Alpha"]
    code, out, err = run(config, "groups", "--owner", "999")
    assert code == 0 and table(out) == [] and err.strip() == "no groups owned by 999"


def test_balances_show_settled_and_pending_with_usernames(seeded) -> None:
    config, _ = seeded
    code, out, err = run(config, "balances")
    assert code == 0, err
    rows = table(out)
    # Ro: OLD-1's 18.00 settled; Mo: NEW-2's 4.50 (5.00 less the platform's 10%) still pending.
    assert [(r["user_id"], r["username"], r["settled"], r["pending"]) for r in rows] == [
        ("1", "@ro_sells", "¥18.00", "¥0.00"), ("2", "-", "¥0.00", "¥4.50")]
    code, out, _ = run(config, "balances", "--min", "18.01")
    assert code == 0 and table(out) == []
    code, out, _ = run(config, "balances", "--min", "18")
    assert [r["user_id"] for r in table(out)] == ["1"]
    code, _, err = run(config, "balances", "--min", "lots")
    assert code == 2 and err.strip().startswith("kocbot: --min:") and len(err.strip().splitlines()) == 1


def test_payout_by_username_follows_the_payout_rules(seeded) -> None:
    config, _ = seeded
    code, _, err = run(config, "payout", "@ro_sells", "18.01")
    assert code == 1 and err.strip() == "kocbot: the settled balance is ¥18.00; cannot pay more"
    code, _, err = run(config, "payout", "@nobody", "1")
    assert code == 1 and "no user @nobody" in err and len(err.strip().splitlines()) == 1
    code, out, err = run(config, "payout", "@RO_SELLS", "10.00", "--note", "bank ref 42")
    assert code == 0, err
    assert out.startswith("paid ¥10.00 to 1 (payout ") and out.strip().endswith(": bank ref 42")
    code, out, _ = run(config, "balances")
    assert table(out)[0]["settled"] == "¥8.00" and table(out)[0]["paid"] == "¥10.00"
    code, _, err = run(config, "payout", "1", "0.50")  # under [commission].min_payout
    assert code == 1 and "minimum payout" in err


def test_exports_in_csv_and_jsonl_honour_since_and_group(seeded) -> None:
    config, ids = seeded
    code, out, err = run(config, "export", "orders")
    assert code == 0, err
    orders = list(csv.DictReader(io.StringIO(out)))
    assert [(o["order_id"], o["status"], o["amount"], o["group_chat_id"], o["merchant"]) for o in orders] == [
        ("OLD-1", "confirmed", "200.00", "-5", "acme"), ("NEW-2", "pending", "50.00", "-6", "acme")]
    code, out, _ = run(config, "export", "orders", "--since", "7d")
    assert [o["order_id"] for o in csv.DictReader(io.StringIO(out))] == ["NEW-2"]
    code, out, _ = run(config, "export", "orders", "--group", "-5", "--format", "jsonl")
    records = [json.loads(line) for line in out.splitlines()]
    assert [(r["order_id"], r["commission"]) for r in records] == [("OLD-1", "20.00")]

    code, out, _ = run(config, "export", "clicks", "--format", "jsonl")
    assert [(r["click_id"], r["group_chat_id"]) for r in map(json.loads, out.splitlines())] == [
        (ids["old_click"], -5), (ids["new_click"], -6)]
    code, out, _ = run(config, "export", "clicks", "--since", "7d", "--group", "-5")
    assert code == 0 and list(csv.DictReader(io.StringIO(out))) == []

    code, out, _ = run(config, "export", "ledger", "--group", "-6")
    ledger = list(csv.DictReader(io.StringIO(out)))
    assert {(e["party"], e["bucket"], e["amount"]) for e in ledger} == {
        ("platform", "pending", "0.50"), ("promoter", "pending", "4.50")}

    code, out, _ = run(config, "export", "products")
    products = list(csv.DictReader(io.StringIO(out)))
    assert [(p["sku"], p["price"], p["active"]) for p in products] == [
        ("SKU1", "39.00", "true"), ("SKU2", "99.00", "true"), ("SKU3", "128.50", "true")]

    code, _, err = run(config, "export", "products", "--group", "-5")
    assert code == 2 and err.strip() == "kocbot: products belong to no group; drop --group"
    code, _, err = run(config, "export", "orders", "--group", "-404")
    assert code == 2 and err.strip() == "kocbot: no group -404; see kocbot groups"


def test_the_cli_and_the_service_know_the_same_exports() -> None:
    from bot import ops_cli
    from bot.services import operator

    assert ops_cli.EXPORTS == operator.EXPORTS


def test_exported_products_import_back_unchanged(seeded) -> None:
    config, _ = seeded
    code, out, _ = run(config, "export", "products")
    path = config.parent / "export.csv"
    path.write_text(out)
    code, out, err = run(config, "products", "import", str(path))
    assert code == 0, err
    assert out.strip() == "3 rows: 0 new, 0 changed, 3 unchanged, 0 bad"


def test_report_csv_honours_group_and_since(seeded) -> None:
    config, _ = seeded

    def report(*args: str) -> list[dict[str, str]]:
        code, out, err = run(config, "report", "--format", "csv", *args)
        assert code == 0, err
        rows = list(csv.DictReader(io.StringIO(out)))
        sums: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
        for r in rows:
            if r["section"] == "entry":
                sums[(r["user_id"], r["party"], r["bucket"])] += Decimal(r["amount"])
        balances = {(r["user_id"], r["party"], r["bucket"]): Decimal(r["amount"])
                    for r in rows if r["section"] == "balance"}
        assert balances == {k: v for k, v in sums.items()}  # the file reconciles with itself
        return [r for r in rows if r["section"] == "entry"]

    everything = report("--since", "all")
    assert {r["order_id"] for r in everything} == {"OLD-1", "NEW-2"}
    assert {r["order_id"] for r in report("--since", "all", "--group", "-5")} == {"OLD-1"}
    assert {r["order_id"] for r in report("--since", "7d")} == {"NEW-2"}
    assert report("--since", "7d", "--group", "-5") == []
    code, _, err = run(config, "report", "--format", "csv", "--group", "-404")
    assert code == 1 and err.strip() == "kocbot: no group -404; see kocbot groups"
