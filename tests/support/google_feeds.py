"""Real-looking Google Merchant Center feeds (TSV and RSS 2.0 XML), for tests and bench."""

from __future__ import annotations

import random
from pathlib import Path
from xml.sax.saxutils import escape

COLUMNS = ("id", "title", "description", "link", "image_link", "availability", "price",
           "sale_price", "sale_price_effective_date", "brand", "gtin", "condition",
           "google_product_category", "product_type", "shipping_weight")
TYPES = ["Home & Garden > Kitchen & Dining > Tableware", "Electronics > Audio > Headphones",
         "Apparel & Accessories > Shoes", "Toys & Games > Puzzles", "Health & Beauty > Skin Care"]


def items(n: int, *, seed: int = 1, bad_every: int = 0) -> list[dict[str, str]]:
    """``n`` items; with ``bad_every``, every such item (1-based) has an unusable price."""
    rng = random.Random(seed)
    out = []
    for i in range(1, n + 1):
        regular = rng.randint(500, 200_000)
        sale = rng.randint(100, regular)
        on_sale = rng.random() < 0.4
        item = {
            "id": f"G-{i:06d}", "title": f"商品 {i} — Stainless steel thermos, 500 ml \"Travel\" edition",
            "description": "A long description with <b>markup</b> & ampersands, as feeds have. " * 3,
            "link": f"https://shop.example.com/p/{i}?utm_source=google",
            "image_link": f"https://img.example.com/{i}.jpg",
            "availability": rng.choice(["in_stock", "in_stock", "in_stock", "out_of_stock", "preorder"]),
            "price": f"{regular // 100}.{regular % 100:02d} CNY",
            "sale_price": f"{sale // 100}.{sale % 100:02d} CNY" if on_sale else "",
            "sale_price_effective_date": ("2026-12-01T00:00+08:00/2027-01-31T23:59+08:00"
                                          if on_sale and rng.random() < 0.5 else ""),
            "brand": "Kocware", "gtin": f"69{i:011d}", "condition": "new",
            "google_product_category": str(rng.randint(1, 6000)),
            "product_type": rng.choice(TYPES), "shipping_weight": "0.5 kg",
        }
        if bad_every and i % bad_every == 0:
            item["price"] = rng.choice(["free", "-1 CNY", "1.999 CNY", "12 XXX"])
        out.append(item)
    return out


def write_tsv(path: Path, rows: list[dict[str, str]]) -> None:
    """The TSV format: a header of attribute names, one item per line."""
    with path.open("w", encoding="utf-8") as out:
        out.write("\t".join(COLUMNS) + "\n")
        for row in rows:
            out.write("\t".join(row[c].replace("\t", " ") for c in COLUMNS) + "\n")


def write_xml(path: Path, rows: list[dict[str, str]]) -> None:
    """The RSS 2.0 format with the g: namespace (title and link as plain RSS elements)."""
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n'
                  '<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0">\n<channel>\n'
                  "<title>Shop feed</title><link>https://shop.example.com</link>"
                  "<description>All products</description>\n")
        for row in rows:
            out.write("<item>")
            for column in COLUMNS:
                tag = column if column in ("title", "link", "description") else f"g:{column}"
                if row[column]:
                    out.write(f"<{tag}>{escape(row[column])}</{tag}>")
            out.write("<g:shipping><g:country>CN</g:country><g:price>0 CNY</g:price></g:shipping>")
            out.write("</item>\n")
        out.write("</channel>\n</rss>\n")
