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
    total: int = 0
    applied: int = 0
    repeated: int = 0
    unattributed: int = 0
    conflicts: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


class OrderImportService:
    """Feeds each CSV row through the same ingest path as a postback."""

    def __init__(self, *, orders: OrderService, promoters: PromoterService, currency: str) -> None:
        self.orders = orders
        self.promoters = promoters
        self.currency = currency

    def import_csv(self, data: bytes, *, source: str = "csv") -> OrderImportSummary:
        """Apply every row; a bad row is reported with its line number and skipped."""
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ServiceError("the order report is not UTF-8 text") from None
        reader = csv.DictReader(io.StringIO(text))
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ServiceError(f"the order report lacks the column(s): {', '.join(missing)}")
        summary = OrderImportSummary()
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
                summary.unattributed += 1
            elif outcome.status == 400:  # a currency without a rate: a bad row, nothing stored
                summary.errors.append((line, outcome.reason))
            elif outcome.status == 409:
                summary.conflicts += 1
                summary.errors.append((line, outcome.reason))
            elif outcome.reason.startswith("repeated"):
                summary.repeated += 1
            else:
                summary.applied += 1
        return summary
