"""The order-report CSV (``order_id, click_id, amount, status, commission, ordered_at``)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from bot.domain.postback import PostbackError, parse_report_row
from bot.services.base import ServiceError
from bot.services.orders import OrderService
from bot.services.promoters import PromoterService

COLUMNS = ("order_id", "click_id", "amount", "status")


@dataclass
class OrderImportSummary:
    """What an order import did: new orders, status changes, repeats, and bad rows by line."""

    total: int = 0
    created: int = 0  # new orders, attributed or not
    changed: int = 0  # a known order moved to a new status
    unchanged: int = 0  # a repeated or late report: nothing changed
    unattributed: int = 0  # of the new orders, those whose click is unknown
    conflicts: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    encoding: str = "utf-8"

    @property
    def applied(self) -> int:
        """Rows that changed the ledger."""
        return self.created + self.changed

    @property
    def repeated(self) -> int:
        return self.unchanged


class OrderImportService:
    """Feeds each CSV row through the same ingest path as a postback."""

    def __init__(self, *, orders: OrderService, promoters: PromoterService, currency: str) -> None:
        self.orders = orders
        self.promoters = promoters
        self.currency = currency

    def import_csv(self, data: bytes, *, source: str = "csv") -> OrderImportSummary:
        """Apply every row; a bad row is reported with its line number and skipped."""
        encoding = "utf-8"
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            # Excel in China saves CSV as GBK; GB18030 is its superset.
            try:
                text, encoding = data.decode("gb18030"), "gb18030"
            except UnicodeDecodeError:
                raise ServiceError("orders_not_text") from None
        reader = csv.DictReader(io.StringIO(text))
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ServiceError("orders_columns", columns=", ".join(missing))
        summary = OrderImportSummary(encoding=encoding)
        for row in reader:
            line = reader.line_num
            if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                continue
            summary.total += 1
            try:
                report = parse_report_row(row, default_currency=self.currency)
            except PostbackError as exc:
                summary.errors.append((line, str(exc)))
                continue
            outcome = self.orders.ingest(report, source=source, promoters=self.promoters)
            if outcome.status == 202:
                summary.created += 1
                summary.unattributed += 1
            elif outcome.status == 400:  # a currency without a rate: a bad row, nothing stored
                summary.errors.append((line, outcome.reason))
            elif outcome.status == 409:
                summary.conflicts += 1
                summary.errors.append((line, outcome.reason))
            elif outcome.reason.startswith("repeated"):
                summary.unchanged += 1
            elif outcome.created:
                summary.created += 1
            else:
                summary.changed += 1
        return summary
