"""The sender's hot-path statements, built once.

A 1,000-group fan-out runs these a few hundred times a minute. Building a SELECT with a
correlated subquery, or going through the ORM's bulk-update machinery, costs more CPU than
the database spends on the query, so they are Core statements with bound parameters, made
at import and executed on the session's connection (same transaction, same rules).
"""

from __future__ import annotations

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import aliased

from bot.storage.models import Group, Post, Product

_other = aliased(Post)

# The posts of a chunk still queued, with what the claim re-checks: the group (active, last
# post, a send in flight) and the deal (available, same price as the card).
CLAIM_CHECK = (
    select(Post.id, Post.group_id, Group.active.label("group_active"), Group.last_post_at,
           select(_other.id).where(_other.group_id == Post.group_id, _other.status == "sending")
           .exists().label("in_flight"),
           Product.active, Product.stock, Product.starts_at, Product.ends_at, Product.price)
    .join(Group, Group.id == Post.group_id).join(Product, Product.id == Post.product_id)
    .where(Post.id.in_(bindparam("ids", expanding=True)), Post.status == "queued")
    .order_by(Post.due_at, Post.id)
)

# The claim itself: only rows still queued move, so a post another sender took is left out.
CLAIM = (
    update(Post.__table__)
    .where(Post.__table__.c.id.in_(bindparam("ids", expanding=True)),
           Post.__table__.c.status == "queued")
    .values(status="sending", claimed_at=bindparam("now"), attempts=Post.__table__.c.attempts + 1)
    .returning(Post.__table__.c.id)
)

# Successes, executemany: one row per (post, message id).
RECORD_SENT = (
    update(Post.__table__)
    .where(Post.__table__.c.id == bindparam("post_id"))
    .values(status="sent", message_id=bindparam("message_id"), sent_at=bindparam("now"), error=None)
)

# The groups of those posts got a post now (the one-minute spacing reads it).
TOUCH_GROUPS = (
    update(Group.__table__)
    .where(Group.__table__.c.id.in_(
        select(Post.__table__.c.group_id).where(Post.__table__.c.id.in_(bindparam("ids", expanding=True)))))
    .values(last_post_at=bindparam("now"))
)
