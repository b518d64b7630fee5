"""Product feed parsing and validation: CSV or JSON bytes in, typed rows and per-row errors out.

The rules, as the ``/import`` command and ``kocbot products import`` report them:

* Format: ``.csv`` or ``.json`` by file name; any other name is sniffed (first non-blank
  byte ``[`` or ``{`` → JSON, else CSV). UTF-8, with or without a byte-order mark; a CSV
  whose first 64 KiB are not UTF-8 but are GB18030 (which includes GBK, what Excel saves
  in China) is read as GB18030, and ``FeedReader.encoding`` says so.
* CSV: the first non-blank row is the header. Column names are case-insensitive and may
  come in any order; a comma, semicolon or tab delimiter is detected from the header.
  Unknown columns are ignored (listed in ``ignored_columns``), a missing required column
  makes the whole file unusable (``FeedError``). Blank lines are skipped. A row with more
  non-empty values than the header has columns is an error (usually an unquoted comma);
  a short row means its trailing values are empty.
* JSON: a list of objects with the same field names. JSON numbers are taken by their
  literal text (``39.9`` is exactly 39.90), ``null`` is an empty value, ``featured`` may
  be a boolean.
* Where: ``RowError.line`` is the physical line on which a CSV row starts (the header
  is line 1). For JSON it is the 1-based position of the object in the list and
  ``RowError.unit`` is ``"item"``, because minified JSON has everything on one line.
* A row's ``reason`` lists every problem found in it, separated by ``"; "``, and each
  problem starts with the field name.
* Duplicates: the first valid row for a (merchant, sku) wins; a later one is an error
  ``"duplicate of line N"`` so that a file never silently updates a product twice.
* Values: text is stripped; a title's runs of whitespace become one space; a category is
  lower-cased with inner whitespace turned into ``-`` (group commands split on spaces).
  Amounts are integer minor units of the row's currency (empty → ``default_currency``).
  ``commission_rate`` is ``0.12`` or ``12%`` (empty → 0). Times are ISO 8601 dates or
  datetimes; naive ones are in ``default_tz`` (UTC unless given) and all come back as
  aware UTC; a date-only ``ends_at`` means the end of that day. With ``now``, a row that
  has already ended is accepted with ``active = False``: that is how a feed ends a deal.
  ``active`` (true/false, default true) may also end it explicitly.
"""

from bot.domain.feed.fields import (
    FIELDS,
    MAX_INTEGER_DIGITS,
    MAX_LENGTHS,
    REQUIRED,
    FeedError,
    ProductRow,
    RowError,
    normalize_category,
)
from bot.domain.feed.reader import FeedReader, iter_feed

__all__ = [
    "FIELDS", "MAX_INTEGER_DIGITS", "MAX_LENGTHS", "REQUIRED", "FeedError", "FeedReader", "ProductRow",
    "RowError", "iter_feed", "normalize_category",
]
