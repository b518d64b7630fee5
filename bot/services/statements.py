"""Statements of the two hot paths, built once: the sender's outbox and Buy taps.

A 1,000-group fan-out or a burst of taps runs these hundreds of times a minute. Building a
SELECT with a correlated subquery, or going through the ORM's bulk machinery, costs more CPU
than the database spends on the query, so they are Core statements with bound parameters,
made at import and executed on the session's connection (same transaction, same rules).
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import aliased

from bot.storage.models import Group, Link, Post, Product, Tap, User

_other = aliased(Post)
# A mapped class's __table__ is typed as any FromClause; these models are plain tables.
_posts, _groups, _links, _users = (cast(Table, m.__table__) for m in (Post, Group, Link, User))

# -- the outbox ---------------------------------------------------------------------------------

# The posts of a chunk still queued, with what the claim re-checks: the group (active, paused,
# last post, a send in flight) and the deal (available, same price as the card).
CLAIM_CHECK = (
    select(Post.id, Post.group_id, Post.slot, Group.active.label("group_active"), Group.paused,
           Group.last_post_at,
           select(_other.id).where(_other.group_id == Post.group_id, _other.status == "sending")
           .exists().label("in_flight"),
           Product.active, Product.stock, Product.starts_at, Product.ends_at, Product.price)
    .join(Group, Group.id == Post.group_id).join(Product, Product.id == Post.product_id)
    .where(Post.id.in_(bindparam("ids", expanding=True)), Post.status == "queued")
    .order_by(Post.due_at, Post.id)
)

# The claim itself: only rows still queued move, so a post another sender took is left out.
CLAIM = (
    update(_posts)
    .where(_posts.c.id.in_(bindparam("ids", expanding=True)),
           _posts.c.status == "queued")
    .values(status="sending", claimed_at=bindparam("now"), attempts=_posts.c.attempts + 1)
    .returning(_posts.c.id)
)

# Successes, executemany: one row per (post, message id, time Telegram answered).
RECORD_SENT = (
    update(_posts)
    .where(_posts.c.id == bindparam("post_id"))
    .values(status="sent", message_id=bindparam("message_id"), sent_at=bindparam("sent_at"),
            error=None)
)

# The group of each of those posts got a post then (the one-minute spacing reads it).
TOUCH_GROUP = (
    update(_groups)
    .where(_groups.c.id == select(_posts.c.group_id)
           .where(_posts.c.id == bindparam("post_id")).scalar_subquery())
    .values(last_post_at=bindparam("sent_at"))
)


# -- Buy taps -----------------------------------------------------------------------------------
# A card can be tapped once it is in the chat: "sending" too, since the sender records the
# success a few ms after Telegram answers, and "unknown" (delivered but not recorded).
TAPPABLE = ("sent", "sending", "unknown")

TAPPED_POSTS = (
    select(_posts.c.id, _posts.c.code, _posts.c.product_id, _posts.c.group_id, _groups.c.owner_id)
    .join(_groups, _groups.c.id == _posts.c.group_id)
    .where(_posts.c.code.in_(bindparam("codes", expanding=True)), _posts.c.status.in_(TAPPABLE))
)

KNOWN_USERS = (
    select(_users.c.id, _users.c.first_name, _users.c.username, _users.c.language_code)
    .where(_users.c.id.in_(bindparam("ids", expanding=True)))
)
ADD_USER = _users.insert()
UPDATE_USER = (
    update(_users).where(_users.c.id == bindparam("user_id"))
    .values(first_name=bindparam("new_first_name"), username=bindparam("new_username"),
            language_code=bindparam("new_language_code"))
)

POST_LINKS = (
    select(_links.c.id, _links.c.code, _links.c.user_id, _links.c.post_id)
    .where(_links.c.post_id.in_(bindparam("posts", expanding=True)),
           _links.c.user_id.in_(bindparam("users", expanding=True)))
)
ADD_LINK = _links.insert().returning(_links.c.id, sort_by_parameter_order=True)
ADD_TAP = cast(Table, Tap.__table__).insert()

# -- clicks -------------------------------------------------------------------------------------

# SQLite: a whole batch in one statement with one bound parameter (a JSON array of rows).
# sqlite3 lets go of the GIL while a statement runs, but takes it back for every row of an
# executemany: a 500-row batch then handed the GIL back and forth with the event loop
# serving the redirects 1,000 times (docs/SCALING.md, "Clicks").
SQLITE_INSERT_CLICKS = (
    "INSERT INTO clicks (id, link_id, created_at, is_bot, ip_hash, user_agent, referrer) SELECT"
    " json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),"
    " json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]'),"
    " json_extract(value, '$[6]') FROM json_each(?) WHERE true"  # (SQLite's upsert needs a WHERE)
    " ON CONFLICT (id) DO NOTHING"  # a batch written again after a lost answer: each click once
)
# PostgreSQL: COPY, whose rows psycopg formats in C; the rollup triggers fire as for INSERT.
PG_COPY_CLICKS = "COPY clicks (id, link_id, created_at, is_bot, ip_hash, user_agent, referrer) FROM STDIN"
# ... and when COPY meets a click already written (the same batch again after a lost answer):
# the batch as one JSON parameter, the clicks already there left out.
PG_INSERT_NEW_CLICKS = (
    "INSERT INTO clicks (id, link_id, created_at, is_bot, ip_hash, user_agent, referrer)"
    " SELECT id, link_id, created_at, is_bot, ip_hash, user_agent, referrer"
    " FROM json_to_recordset(%s::json) AS r(id text, link_id bigint, created_at timestamptz,"
    " is_bot boolean, ip_hash text, user_agent text, referrer text)"
    " ON CONFLICT (id) DO NOTHING"
)

# The click ids of a batch that an order stored unattributed names (OrderService.attribute_late),
# one bound parameter for the whole batch, a JSON array: json.dumps is C, where psycopg adapts a
# list to an array one element at a time in Python. ANY(ARRAY(...)) keeps the index usable.
SQLITE_AWAITED_CLICKS = ("SELECT DISTINCT click_id FROM orders WHERE link_id IS NULL"
                         " AND click_id IN (SELECT value FROM json_each(?))")
PG_AWAITED_CLICKS = ("SELECT DISTINCT click_id FROM orders WHERE link_id IS NULL"
                     " AND click_id = ANY(ARRAY(SELECT json_array_elements_text(%s::json)))")
