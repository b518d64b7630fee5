"""Google Merchant Center feeds: 10k-item TSV and XML feeds, bad items by position, the XML
bomb and external entities refused, the import into the catalog and the CLI's exit codes."""

from __future__ import annotations

import io
import tracemalloc
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import main
from bot.domain.feed import FeedError, ProductRow, RowError
from bot.domain.google_feed import iter_google_feed
from bot.services.base import ServiceError
from bot.storage.models import Product
from tests.support.google_feeds import items, write_tsv, write_xml
from tests.support.world import make_services

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
RATE = Decimal("0.06")


def parse(data: bytes, filename: str = "feed.tsv") -> list[tuple[int, ProductRow | RowError]]:
    return list(iter_google_feed(io.BytesIO(data), filename=filename, merchant="shop",
                                 commission_rate=RATE, default_currency="CNY", now=NOW))


@pytest.mark.parametrize("writer,unit", [(write_tsv, "line"), (write_xml, "item")])
def test_ten_thousand_items_with_bad_ones_by_position(tmp_path: Path, writer, unit: str) -> None:
    path = tmp_path / "feed"
    writer(path, items(10_000, bad_every=997))
    tracemalloc.start()
    with path.open("rb") as stream:
        out = list(iter_google_feed(stream, filename=path.name, merchant="shop", commission_rate=RATE,
                                    default_currency="CNY", now=NOW))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rows = [r for _, r in out if isinstance(r, ProductRow)]
    errors = [r for _, r in out if isinstance(r, RowError)]
    assert len(out) == 10_000 and len(rows) == 10_000 - 10
    # Item 997 is the 997th item: TSV line 998 (after the header), XML item 997.
    expected = [n * 997 + (1 if unit == "line" else 0) for n in range(1, 11)]
    assert [e.line for e in errors] == expected and {e.unit for e in errors} == {unit}
    assert all("price" in e.reason for e in errors), errors
    first = rows[0]
    assert first.sku == "G-000001" and first.merchant == "shop" and first.commission_rate == RATE
    assert first.url.startswith("https://shop.example.com/p/1") and first.currency == "CNY"
    assert first.original_price >= first.price > 0
    assert first.category in {"tableware", "headphones", "shoes", "puzzles", "skin-care"}
    out_of_stock = [r for r in rows if r.stock == 0]
    assert 1000 < len(out_of_stock) < 3000  # about a fifth of the items
    # Items are dropped as they are read: the rows list dominates, not the document tree.
    assert peak < 40 * 1024 * 1024


def test_mapping_of_prices_sales_and_availability() -> None:
    header = "id\ttitle\tlink\tprice\tsale_price\tsale_price_effective_date\tavailability\tproduct_type\n"
    lines = [
        "A\tKettle\thttps://s.example/a\t59.00 CNY\t39.00 CNY\t2026-12-01T00:00+08:00/2026-12-31T23:59+08:00"
        "\tin_stock\tHome > Kitchen",
        "B\tEnded sale\thttps://s.example/b\t59.00 CNY\t39.00 CNY\t2026-11-01/2026-11-30\tin stock\t",
        "C\tGone\thttps://s.example/c\t10 CNY\t\t\tout_of_stock\t",
        "D\tMixed\thttps://s.example/d\t10.00 USD\t8.00 CNY\t\tin_stock\t",
        "E\tOdd\thttps://s.example/e\t10.00 CNY\t\t\tsold out\t",
        "A\tAgain\thttps://s.example/a2\t1.00 CNY\t\t\t\t",
        "F\tshort row",
    ]
    out = dict(parse((header + "\n".join(lines) + "\n").encode()))
    a, b, c = out[2], out[3], out[4]
    assert isinstance(a, ProductRow) and (a.price, a.original_price) == (3900, 5900)
    assert a.ends_at == datetime(2026, 12, 31, 15, 59, tzinfo=UTC) and a.category == "kitchen"
    assert isinstance(b, ProductRow) and (b.price, b.ends_at) == (5900, None)  # sale over
    assert isinstance(c, ProductRow) and c.stock == 0 and c.price == 1000
    assert isinstance(out[5], RowError) and "differs" in out[5].reason
    assert isinstance(out[6], RowError) and "availability" in out[6].reason
    assert isinstance(out[7], RowError) and out[7].reason == "duplicate of line 2 (id 'A')"
    assert isinstance(out[8], RowError) and "columns" in out[8].reason


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel><item><g:id>1</g:id>
<title>&lol3;</title><link>https://s.example/1</link><g:price>1 CNY</g:price></item></channel></rss>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel><item><g:id>1</g:id>
<title>&x;</title><link>https://s.example/1</link><g:price>1 CNY</g:price></item></channel></rss>"""


@pytest.mark.parametrize("document", [BOMB, EXTERNAL], ids=["bomb", "external-entity"])
def test_xml_bomb_and_external_entities_are_refused(document: bytes) -> None:
    with pytest.raises(FeedError, match="refused"):
        parse(document, "feed.xml")


def test_malformed_xml_names_where() -> None:
    data = (b'<rss xmlns:g="http://base.google.com/ns/1.0"><channel><item><g:id>1</g:id><title>T</title>'
            b'<link>https://s.example/1</link><g:price>1 CNY</g:price></item><item><g:id>2</item>')
    with pytest.raises(FeedError, match=r"malformed XML at line 1.*after item 1"):
        parse(data, "feed.xml")


def test_import_into_catalog_and_cli(db_url: str, tmp_path: Path, clock, capsys) -> None:
    services = make_services(db_url, clock, merchants={"shop": {"commission_rate": "0.06"}})
    path = tmp_path / "feed.xml"
    write_xml(path, items(300, bad_every=100))
    with path.open("rb") as stream:
        result = services.google_feed.run(stream, filename=path.name, merchant="shop")
    assert (result.total, result.created, len(result.errors)) == (300, 297, 3)
    with path.open("rb") as stream:
        strict = services.google_feed.run(stream, filename=path.name, merchant="shop", strict=True)
    assert strict.rejected and strict.created == strict.updated == 0
    with services.db.transaction() as session:
        assert session.scalar(select(func.count(Product.id))) == 297
        rates = set(session.scalars(select(Product.commission_rate)))
    assert rates == {Decimal("0.06")}
    with pytest.raises(ServiceError, match=r"\[merchants.nobody\]"):
        services.google_feed.run(io.BytesIO(b""), filename="x.tsv", merchant="nobody")
    services.db.dispose()

    if not db_url.startswith("sqlite"):
        return
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n[merchants.shop]\ncommission_rate = 0.06\n')
    tsv = tmp_path / "feed.tsv"
    write_tsv(tsv, items(50))
    assert main(["products", "import", str(tsv), "--format", "google", "--merchant", "shop",
                 "-c", str(config)]) == 0
    assert "50 items for shop: 0 new, 0 changed, 50 unchanged, 0 bad" in capsys.readouterr().out
    write_tsv(tsv, items(50, bad_every=25))
    assert main(["products", "import", str(tsv), "--format", "google", "--merchant", "shop",
                 "-c", str(config)]) == 1
    assert "feed.tsv:26: " in capsys.readouterr().err
    (tmp_path / "bomb.xml").write_bytes(BOMB)
    assert main(["products", "import", str(tmp_path / "bomb.xml"), "--format", "google",
                 "--merchant", "shop", "-c", str(config)]) == 2
    assert "refused" in capsys.readouterr().err
    assert main(["products", "import", str(tsv), "--format", "google", "-c", str(config)]) == 2
