"""Covering indexes for /commission and /report at scale (1M orders, 5M clicks).

Revision ID: 0003
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Clicks of a set of links, humans only, by day: answered from the index alone.
    op.create_index("ix_clicks_link_bot_created", "clicks", ["link_id", "is_bot", "created_at"])
    # A person's entries by bucket with their orders, and an order's entries by party.
    op.create_index("ix_ledger_user_cover", "ledger_entries", ["user_id", "bucket", "order_id", "amount"])
    op.create_index("ix_ledger_order_cover", "ledger_entries", ["order_id", "party", "bucket", "amount"])


def downgrade() -> None:
    op.drop_index("ix_ledger_order_cover", table_name="ledger_entries")
    op.drop_index("ix_ledger_user_cover", table_name="ledger_entries")
    op.drop_index("ix_clicks_link_bot_created", table_name="clicks")
