"""The tables. Money is integer minor units; every chat reference goes through groups.id,
so a group→supergroup migration changes one column (groups.chat_id) and nothing else."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, SmallInteger, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.base import Base


class Merchant(Base):
    __tablename__ = "merchants"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    subid_param: Mapped[str] = mapped_column(String(64), default="subid")
    url_template: Mapped[str] = mapped_column(String(1024), default="")
    created_at: Mapped[datetime]


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("merchant_id", "sku"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    sku: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(512))
    url: Mapped[str] = mapped_column(String(2048))
    price: Mapped[int]
    original_price: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    commission_rate: Mapped[Decimal]
    category: Mapped[str] = mapped_column(String(64), default="", index=True)
    image_url: Mapped[str] = mapped_column(String(2048), default="")
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    stock: Mapped[int | None]
    featured: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime]


class User(Base):
    """A Telegram user the bot has seen; a promoter once ``registered_at`` is set."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    first_name: Mapped[str] = mapped_column(String(128), default="")
    username: Mapped[str | None] = mapped_column(String(64))
    language_code: Mapped[str | None] = mapped_column(String(16))
    registered_at: Mapped[datetime | None]
    upline_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    tier: Mapped[str] = mapped_column(String(16), default="promoter")
    invite_code: Mapped[str | None] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime]


# ``/payout @name`` and the CLI find a user by name, case-insensitively (migration 0012).
Index("ix_users_username_lower", func.lower(User.username))


class Group(Base):
    __tablename__ = "groups"
    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(unique=True)
    # The bot (token) the group belongs to: the one that was added to it. One deployment can
    # run several tokens to pass Telegram's per-bot rate limit (docs/SCALING.md).
    bot_id: Mapped[int | None] = mapped_column(index=True)
    title: Mapped[str] = mapped_column(String(256), default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    added_by: Mapped[int | None]
    claim_token: Mapped[str | None] = mapped_column(String(32), unique=True)
    claimed: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    paused: Mapped[bool] = mapped_column(default=False)
    timezone: Mapped[str] = mapped_column(String(64))
    times: Mapped[str] = mapped_column(String(256))  # "09:00 20:00"
    categories: Mapped[str] = mapped_column(String(512), default="")  # "" = all
    topic_id: Mapped[int | None]
    next_slot_at: Mapped[datetime | None] = mapped_column(index=True)
    last_post_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class Post(Base):
    """One card for one group and slot. The row exists before the send (the outbox)."""

    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("group_id", "slot"),
        Index("ix_posts_status_due", "status", "due_at"),
        # A group's own posts by state: the learning stats and the repeat-window exclusion.
        Index("ix_posts_group_status", "group_id", "status"),
        Index("ix_posts_created_status", "created_at", "status"),  # migration 0008: /stats edge day
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    slot: Mapped[str] = mapped_column(String(64))  # "2026-11-24T09:00" or "now:<code>"
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    # When a sender moved the post to "sending": a lease, so a restarted sender recovers only
    # posts that a dead sender left behind, never those a live one is sending.
    claimed_at: Mapped[datetime | None]
    price: Mapped[int]
    message_id: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class Share(Base):
    """A card a user posted through inline mode; taps on it are attributed to the sharer."""

    __tablename__ = "shares"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    sharer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    inline_message_id: Mapped[str | None] = mapped_column(String(128))
    chosen_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class Link(Base):
    """A member's personal tracked link for one post or one share."""

    __tablename__ = "links"
    __table_args__ = (
        UniqueConstraint("user_id", "post_id"),
        UniqueConstraint("user_id", "share_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"), index=True)
    share_id: Mapped[int | None] = mapped_column(ForeignKey("shares.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"), index=True)
    promoter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]


class Tap(Base):
    __tablename__ = "taps"
    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("links.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(index=True)  # migration 0008: /stats edge day


class Click(Base):
    __tablename__ = "clicks"
    __table_args__ = (
        Index("ix_clicks_link_created", "link_id", "created_at"),
        Index("ix_clicks_link_bot_created", "link_id", "is_bot", "created_at"),  # migration 0003
        # migration 0008: /stats scans only the window's first day; covering, so no table reads.
        Index("ix_clicks_created_bot", "created_at", "is_bot"),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the sub-id sent to the merchant
    link_id: Mapped[int] = mapped_column(ForeignKey("links.id"))
    created_at: Mapped[datetime]
    is_bot: Mapped[bool] = mapped_column(default=False)
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(256))
    referrer: Mapped[str | None] = mapped_column(String(512))


class Order(Base):
    """One merchant's order. ``amount``, ``pool`` and ``currency`` are in the booking currency
    (``[commission].currency``); the ``original_*`` columns keep what the report said."""

    __tablename__ = "orders"
    __table_args__ = (
        # migration 0006: two merchants may use the same order id; one merchant may not.
        UniqueConstraint("merchant", "order_id"),
        # migration 0006: confirmed orders whose hold ends (settle, payable as of now).
        Index("ix_orders_status_settled_confirmed", "status", "settled_at", "confirmed_at"),
        # migration 0008: /stats scans only the window's first day.
        Index("ix_orders_ordered_status", "ordered_at", "status", "amount"),
        # migration 0010: the mini app dashboard's order count, from the index alone.
        Index("ix_orders_promoter_status", "promoter_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    # The product's merchant behind the click, else the report's "merchant", else "".
    merchant: Mapped[str] = mapped_column(String(64), default="")
    order_id: Mapped[str] = mapped_column(String(64))
    click_id: Mapped[str | None] = mapped_column(String(64), index=True)
    link_id: Mapped[int | None] = mapped_column(ForeignKey("links.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"), index=True)
    promoter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    buyer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    amount: Mapped[int]
    pool: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    original_amount: Mapped[int | None]  # as reported, minor units of original_currency
    original_currency: Mapped[str | None] = mapped_column(String(3))
    rate: Mapped[Decimal | None] = mapped_column(Numeric(18, 8))  # original → booking; 1 if same
    ordered_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    settled_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class OrderEvent(Base):
    """Every accepted report, as received: the audit trail of an order's states."""

    __tablename__ = "order_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))  # postback | csv
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class Payout(Base):
    __tablename__ = "payouts"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    admin_id: Mapped[int]
    created_at: Mapped[datetime]
    # The operator's transfer reference (`kocbot payout --note`); empty from /payout.
    note: Mapped[str] = mapped_column(String(200), default="", server_default="")


class LedgerEntry(Base):
    """Append-only. A balance is the sum of entries per (party, user, bucket)."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_user_bucket", "user_id", "bucket"),
        # migration 0003: covering indexes for /commission and /report at scale
        # migration 0006: + currency, since balances are per currency
        Index("ix_ledger_user_cover", "user_id", "bucket", "order_id", "amount", "currency"),
        Index("ix_ledger_order_cover", "order_id", "party", "bucket", "amount"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    payout_id: Mapped[int | None] = mapped_column(ForeignKey("payouts.id"), index=True)
    event: Mapped[str] = mapped_column(String(16))  # pending|confirmed|cancelled|refunded|settle|payout
    party: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    bucket: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime]


class Pick(Base):
    """A promoter's pick of a deal for their groups."""

    __tablename__ = "picks"
    __table_args__ = (UniqueConstraint("user_id", "product_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    created_at: Mapped[datetime]


class CardFile(Base):
    """Telegram's file_id for a rendered card, so one deal is uploaded once."""

    __tablename__ = "card_files"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    file_id: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime]


# --- affiliate networks (bot/networks/): what a network's API needs beyond the catalog ----


class NetworkProduct(Base):
    """A catalog product that came from a network: what its link API and the cards need."""

    __tablename__ = "network_products"
    __table_args__ = (UniqueConstraint("network", "sku"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    network: Mapped[str] = mapped_column(String(16))
    sku: Mapped[str] = mapped_column(String(64))
    material_url: Mapped[str] = mapped_column(String(2048))
    coupon_url: Mapped[str] = mapped_column(String(2048), default="")
    shop_name: Mapped[str] = mapped_column(String(128), default="")
    shop_id: Mapped[str] = mapped_column(String(32), default="")
    updated_at: Mapped[datetime]


class NetworkLink(Base):
    """A member's promotion link made by a network's API for one of our links (a cache)."""

    __tablename__ = "network_links"
    __table_args__ = (UniqueConstraint("network", "link_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    network: Mapped[str] = mapped_column(String(16))
    link_id: Mapped[int] = mapped_column(ForeignKey("links.id"))
    sub_id: Mapped[str] = mapped_column(String(80))
    url: Mapped[str] = mapped_column(String(2048))
    created_at: Mapped[datetime]


class NetworkOrder(Base):
    """The click an order row was first booked with, so every later poll names the same one."""

    __tablename__ = "network_orders"
    __table_args__ = (UniqueConstraint("network", "row_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    network: Mapped[str] = mapped_column(String(16))
    row_key: Mapped[str] = mapped_column(String(64))
    click_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class NetworkCursor(Base):
    """How far a network's order poller got, and which poller holds it (a lease)."""

    __tablename__ = "network_cursors"
    network: Mapped[str] = mapped_column(String(16), primary_key=True)
    cursor_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class StatsDay(Base):
    """Daily rollups behind /stats, kept by triggers (migrations 0008, 0010) in the writing
    transaction.

    ``metric`` is clicks, bot_hits, taps, posts, orders, ``gmv:<currency>`` or
    ``earn:<party>:<currency>``; ``slot`` is 0 for folded rows and, on PostgreSQL, a writing
    transaction's id until compaction folds it.
    """

    __tablename__ = "stats_days"
    day: Mapped[date] = mapped_column(primary_key=True)
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    slot: Mapped[int] = mapped_column(primary_key=True)
    n: Mapped[int]


class EarningDay(Base):
    """A person's ledger summed per currency, bucket, group (0: none) and UTC day of the order,
    kept by triggers (migration 0010) in the writing transaction; the mini app's dashboard
    reads these. ``slot`` is 0 for folded rows and, on PostgreSQL, a writing transaction's id
    until ``DashboardService.compact_earnings`` folds it."""

    __tablename__ = "earning_days"
    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(16), primary_key=True)
    group_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(primary_key=True)
    slot: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    amount: Mapped[int]


class GroupTopic(Base):
    """A forum topic the bot has seen in a group (its creation, a rename, or /topic sent in it),
    so that the group's owner can pick it in the mini app."""

    __tablename__ = "group_topics"
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), primary_key=True, autoincrement=False)
    thread_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(128))
    seen_at: Mapped[datetime]


class ActivityCount(Base):
    """A promoter's human clicks (``metric`` "clicks") and live orders ("orders"), kept by
    triggers (migration 0010) in the writing transaction; ``slot`` as in ``EarningDay``."""

    __tablename__ = "activity_counts"
    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    metric: Mapped[str] = mapped_column(String(16), primary_key=True)
    slot: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    n: Mapped[int]


class StatsSlice(Base):
    """The same rollups per 10-minute slice of the UTC day (migration 0011): a window starting
    at any moment of any day reads that day's whole slices from here, and scans only the rows
    of part of one slice. ``minute`` is the slice's first minute of the day (0, 10, … 1430)."""

    __tablename__ = "stats_slices"
    day: Mapped[date] = mapped_column(primary_key=True)
    minute: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    slot: Mapped[int] = mapped_column(primary_key=True)
    n: Mapped[int]
