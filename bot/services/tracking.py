"""Taps, personal links and clicks: who tapped which card, and who opened which link."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple, cast
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from sqlalchemy import Connection, Table, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.domain.links import new_code
from bot.services import statements
from bot.services.base import Service, ServiceError, in_chunks
from bot.services.orders import OrderService
from bot.services.promoters import Person, PromoterService
from bot.storage import locks
from bot.storage.models import Click, Link, Merchant, Product, Share, Tap

# The characters a redirect's Location keeps as they are (starlette.responses.RedirectResponse).
LOCATION_SAFE = ":/%#?=@[]!$&'()*+,;"


# Links' redirect targets: the code, then ClickTarget's fields by name.
RESOLVE = (select(Link.code, Link.id.label("link_id"), Product.url.label("product_url"),
                  Merchant.subid_param, Merchant.url_template, Product.title, Product.active,
                  Product.ends_at, Product.stock, Merchant.name.label("merchant"))
           .join(Product, Product.id == Link.product_id)
           .join(Merchant, Merchant.id == Product.merchant_id)
           .where(Link.code.in_(bindparam("codes", expanding=True))))


@dataclass(frozen=True)
class ClickTarget:
    """Where a tracked link leads, resolved before the redirect."""

    link_id: int
    product_url: str
    subid_param: str
    url_template: str
    title: str
    active: bool
    ends_at: datetime | None
    stock: int | None
    merchant: str = ""  # a network's name (bot/networks/) when the network makes the link

    def expired(self, now: datetime) -> bool:
        """The deal ended, sold out or was withdrawn (410)."""
        return (not self.active or (self.ends_at is not None and self.ends_at <= now)
                or (self.stock is not None and self.stock <= 0))

    def redirect_url(self, click_id: str) -> str:
        """The merchant URL carrying the click id in the merchant's sub-id parameter."""
        if self.url_template:
            return self.url_template.format(url=quote(self.product_url, safe=""), click_id=click_id,
                                            subid_param=self.subid_param)
        if self._url_safe(click_id):
            # The hot path: the URL up to the id is the same for every click on this link.
            head, tail = self._redirect_parts
            return f"{head}{click_id}{tail}"
        return self._build(click_id)

    @staticmethod
    def _url_safe(text: str) -> bool:
        return text.isascii() and all(c.isalnum() or c in "-_" for c in text)

    def _build(self, click_id: str) -> str:
        parts = urlsplit(self.product_url)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                 if k != self.subid_param]
        query.append((self.subid_param, click_id))
        return urlunsplit(parts._replace(query=urlencode(query)))

    @functools.cached_property
    def _redirect_parts(self) -> tuple[str, str]:
        marker = "KOCBOTCLICKID"
        head, _, tail = self._build(marker).partition(marker)
        return head, tail

    @functools.cached_property
    def location_parts(self) -> tuple[bytes, bytes] | None:
        """The Location header of a redirect around its (URL-safe) click id, percent-encoded
        as Starlette's RedirectResponse encodes it; None when a template makes each URL."""
        if self.url_template:
            return None
        head, tail = self._redirect_parts
        return (quote(head, safe=LOCATION_SAFE).encode("ascii"),
                quote(tail, safe=LOCATION_SAFE).encode("ascii"))


@dataclass(frozen=True)
class IssuedLink:
    """A member's personal link, as handed out after a tap."""

    id: int
    code: str


class ClickRecord(NamedTuple):
    """One click as the web server saw it, written later in a batch.

    A tuple, fields in the clicks table's column order: one is made per redirect (a frozen
    dataclass cost several times more), and a batch goes to COPY as it is."""

    id: str
    link_id: int
    at: datetime  # created_at
    is_bot: bool
    ip_hash: str | None
    user_agent: str | None
    referrer: str | None


class TrackingService(Service):
    """Links, taps and clicks."""

    def _link(self, session: Session, *, user_id: int, product_id: int, post_id: int | None = None,
              share_id: int | None = None, group_id: int | None = None,
              promoter_id: int | None = None) -> Link:
        key = Link.post_id == post_id if post_id is not None else Link.share_id == share_id
        if post_id is None and share_id is None:
            key = (Link.product_id == product_id) & Link.post_id.is_(None) & Link.share_id.is_(None)
        existing = session.scalars(select(Link).where(Link.user_id == user_id, key)).first()
        if existing is not None:
            return existing
        link = Link(code=new_code(), user_id=user_id, product_id=product_id, post_id=post_id,
                    share_id=share_id, group_id=group_id, promoter_id=promoter_id,
                    created_at=self.now())
        try:
            with session.begin_nested():
                session.add(link)
        except IntegrityError:
            # Two taps at once: the other one created it.
            return session.scalars(select(Link).where(Link.user_id == user_id, key)).one()
        return link

    def tap_post(self, *, post_code: str, person: Person, promoters: PromoterService) -> IssuedLink:
        """A member tapped Buy on a card in a group: record the tap, return their personal link."""
        outcome = self.tap_posts([(post_code, person)], promoters=promoters)[0]
        if isinstance(outcome, ServiceError):
            raise outcome
        return outcome

    def tap_posts(self, taps: Sequence[tuple[str, Person]], *,
                  promoters: PromoterService) -> list[IssuedLink | ServiceError]:
        """Many Buy taps in one transaction: one outcome per tap, in order.

        A busy group sends taps in bursts; one transaction and a few set-wise statements per
        burst cost far less than a transaction per tap. Each tap's writes (the member's user
        row, their link, the tap) still commit together. If another process created one of
        the same links or users meanwhile, the batch rolls back and each tap is retried alone.
        """
        try:
            return self._tap_posts(taps, promoters)
        except IntegrityError:
            if len(taps) == 1:
                return self._tap_posts(taps, promoters)  # the rival's row is committed now
            return [self.tap_posts([tap], promoters=promoters)[0] for tap in taps]

    def _tap_posts(self, taps: Sequence[tuple[str, Person]],
                   promoters: PromoterService) -> list[IssuedLink | ServiceError]:
        now = self.now()
        with self.db.transaction() as session:
            conn = session.connection()
            posts = {row.code: row for row in conn.execute(
                statements.TAPPED_POSTS, {"codes": list({code for code, _ in taps})})}
            live = [(posts[code], person) for code, person in taps if code in posts]
            if not live:
                return [ServiceError("deal_gone") for _ in taps]
            promoters.touch_many(session, [person for _, person in live])
            links = {(row.user_id, row.post_id): IssuedLink(row.id, row.code) for row in conn.execute(
                statements.POST_LINKS, {"posts": list({post.id for post, _ in live}),
                                 "users": list({person.id for _, person in live})})}
            new = {}
            for post, person in live:
                key = (person.id, post.id)
                if key not in links and key not in new:
                    new[key] = {"code": new_code(), "user_id": person.id, "product_id": post.product_id,
                                "post_id": post.id, "share_id": None, "group_id": post.group_id,
                                "promoter_id": post.owner_id, "created_at": now}
            if new:
                created = conn.execute(statements.ADD_LINK, list(new.values())).scalars().all()
                for (key, row), link_id in zip(new.items(), created, strict=True):
                    links[key] = IssuedLink(link_id, row["code"])
            conn.execute(statements.ADD_TAP, [{"link_id": links[(person.id, post.id)].id, "created_at": now}
                                       for post, person in live])
        return [links[(person.id, posts[code].id)] if code in posts
                else ServiceError("deal_gone") for code, person in taps]

    def shares_for(self, *, sharer: Person, product_ids: Sequence[int],
                   promoters: PromoterService) -> dict[int, str]:
        """The sharer's share code of each deal offered as an inline result (one share per
        sharer and product, created on first offer), in one transaction per inline query."""
        if not product_ids:
            return {}
        with self.db.transaction() as session:
            promoters.touch(session, sharer)
            codes = {product_id: code for product_id, code in session.execute(
                select(Share.product_id, Share.code)
                .where(Share.sharer_id == sharer.id, Share.product_id.in_(product_ids))
                .order_by(Share.id.desc()))}  # the oldest share wins if two were ever made
            new = [Share(code=new_code(), sharer_id=sharer.id, product_id=pid, created_at=self.now())
                   for pid in dict.fromkeys(product_ids) if pid not in codes]
            session.add_all(new)
            codes.update((share.product_id, share.code) for share in new)
            return codes

    def share_chosen(self, *, share_code: str, inline_message_id: str | None) -> None:
        """Record ``chosen_inline_result``: the card was really posted somewhere."""
        with self.db.transaction() as session:
            share = session.scalars(select(Share).where(Share.code == share_code)).first()
            if share is not None:
                share.chosen_at = self.now()
                share.inline_message_id = inline_message_id

    def tap_share(self, *, share_code: str, person: Person, promoters: PromoterService) -> Link:
        """A tap on Buy under a shared (inline) card, attributed to the sharer."""
        with self.db.transaction() as session:
            share = session.scalars(select(Share).where(Share.code == share_code)).first()
            if share is None:
                raise ServiceError("deal_gone")
            promoters.touch(session, person)
            link = self._link(session, user_id=person.id, product_id=share.product_id,
                              share_id=share.id, promoter_id=share.sharer_id)
            session.add(Tap(link_id=link.id, created_at=self.now()))
            return link

    def direct_link(self, *, product_id: int, person: Person, promoters: PromoterService) -> Link:
        """A link from /deals in private: the promoter buying for themselves (self-purchase)."""
        with self.db.transaction() as session:
            if session.get(Product, product_id) is None:
                raise ServiceError("deal_gone")
            promoters.touch(session, person)
            registered = promoters.is_registered(session, person.id)
            promoter = person.id if self.config.commission.self_purchase and registered else None
            return self._link(session, user_id=person.id, product_id=product_id,
                              promoter_id=promoter)

    def link_by_code(self, code: str) -> tuple[Link, Product] | None:
        """A link and its product, for the ``l_`` deep link."""
        with self.db.transaction() as session:
            link = session.scalars(select(Link).where(Link.code == code)).first()
            if link is None:
                return None
            return link, session.get_one(Product, link.product_id)

    def resolve(self, code: str) -> ClickTarget | None:
        """What ``GET /c/<code>`` redirects to; None for an unknown code.

        The columns only, on a plain connection: every busy link is looked up again each few
        seconds (bot/web/link_cache.py), in a thread beside the event loop answering redirects,
        and an ORM session and Product entity per lookup held the GIL that loop needs for
        ~0.8 ms, against ~0.3 ms this way (bench/bench_clicks.py's world, PostgreSQL)."""
        return self.resolve_many([code]).get(code)

    def resolve_many(self, codes: list[str]) -> dict[str, ClickTarget]:
        """``resolve`` for several codes in one statement per ``IN`` list; unknown codes are
        left out."""
        found = {}
        with self.db.engine.connect() as conn:
            for chunk in in_chunks(codes):
                for row in conn.execute(RESOLVE, {"codes": chunk}).mappings():
                    found[row["code"]] = ClickTarget(**{k: v for k, v in row.items() if k != "code"})
        return found

    def save_clicks(self, clicks: Sequence[ClickRecord], *, orders: OrderService,
                    promoters: PromoterService) -> None:
        """Write a batch of clicks in one transaction, attributing any order that was
        reported before its click got here (``OrderService.attribute_late``)."""
        if not clicks:
            return
        try:
            self._save_clicks(clicks, orders, promoters, again=False)
        except Exception as exc:
            if not is_duplicate_key(exc):
                raise
            # Some of these clicks are written already: the same batch again, after the
            # writer's answer was lost. Without this it could never be written, and every
            # click after it would queue behind it.
            self._save_clicks(clicks, orders, promoters, again=True)

    def _save_clicks(self, clicks: Sequence[ClickRecord], orders: OrderService,
                     promoters: PromoterService, *, again: bool) -> None:
        with self.db.transaction() as session:
            locks.click_batch(session)  # an order report deciding "no such click" waits for us
            conn = session.connection()
            insert_clicks(conn, clicks, again=again)
            # Nearly always no order is waiting for these clicks: one statement per batch
            # says which are (most batches: none), and only those go to attribute_late.
            named = awaited_clicks(conn, [c.id for c in clicks])
            if named:
                orders.attribute_late(session, named, promoters)


def click_row(c: ClickRecord) -> dict[str, object]:
    """One click as the clicks table's column values."""
    return {"id": c.id, "link_id": c.link_id, "created_at": c.at, "is_bot": c.is_bot,
            "ip_hash": c.ip_hash, "user_agent": c.user_agent, "referrer": c.referrer}


def sqlite_datetime(at: datetime) -> str:
    """``at`` as SQLAlchemy stores it on SQLite (UTC, bot/storage/base.py): what readers parse."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def is_duplicate_key(exc: BaseException) -> bool:
    """Whether ``exc`` is a unique violation (SQLSTATE 23505), from SQLAlchemy or from the
    driver's raw COPY."""
    orig = getattr(exc, "orig", exc)
    return getattr(orig, "sqlstate", None) == "23505"


def insert_clicks(conn: Connection, clicks: Sequence[ClickRecord], *, again: bool = False) -> None:
    """The rows of ``clicks``, inserted in bulk on ``conn`` (its transaction); ``again``: some
    may be there already (on SQLite they are always skipped), leave those out.

    The batch writer runs in a thread beside the event loop that answers the redirects, so
    the GIL it holds is taken from them: rows go to the driver in one piece instead of one
    Python call per row and column (statements.py)."""
    for c in clicks:
        if c.at.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware one")
    if conn.dialect.name == "sqlite":
        rows = [(c.id, c.link_id, sqlite_datetime(c.at),
                 c.is_bot, c.ip_hash, c.user_agent, c.referrer) for c in clicks]
        conn.exec_driver_sql(statements.SQLITE_INSERT_CLICKS, (json.dumps(rows),))
    elif again:
        named = [{"id": c.id, "link_id": c.link_id, "created_at": c.at.isoformat(),
                  "is_bot": c.is_bot, "ip_hash": c.ip_hash, "user_agent": c.user_agent,
                  "referrer": c.referrer} for c in clicks]
        conn.exec_driver_sql(statements.PG_INSERT_NEW_CLICKS, (json.dumps(named),))
    elif conn.dialect.driver == "psycopg":
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cursor, cursor.copy(statements.PG_COPY_CLICKS) as copy:
            for c in clicks:
                copy.write_row(c)
    else:
        conn.execute(cast(Table, Click.__table__).insert(), [click_row(c) for c in clicks])


def awaited_clicks(conn: Connection, click_ids: list[str]) -> list[str]:
    """Which of ``click_ids`` an unattributed order names (reported before its click was
    written), asked in one statement with one bound parameter, however long the batch.

    An ``IN (...)`` list per 500 clicks costs Python time per value (SQLAlchemy expands and
    renders each one, PostgreSQL plans the list), all of it holding the GIL that the event
    loop answering the redirects needs (docs/SCALING.md, "Clicks")."""
    if not click_ids:
        return []
    # The config accepts only SQLite and PostgreSQL URLs (any PostgreSQL driver: one dialect).
    sql = statements.SQLITE_AWAITED_CLICKS if conn.dialect.name == "sqlite" else statements.PG_AWAITED_CLICKS
    return sorted({row[0] for row in conn.exec_driver_sql(sql, (json.dumps(click_ids),))})
