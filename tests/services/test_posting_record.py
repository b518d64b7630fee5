"""Recording successful sends (``PostingService.record_sent``) on real SQLite and PostgreSQL.

The sender writes successes in batches a few ms after Telegram answered; what it writes must
be the time of the answer, or the one-minute spacing would count from a late write."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.storage.models import Group, Post
from tests.support.world import add_group, add_post, product_ids, register

OWNER = 1


@pytest.fixture
def services(services):  # type: ignore[no-untyped-def]
    register(services, OWNER, "Owner")
    return services


def sending_post(services, chat_id: int) -> tuple[int, int]:
    """A claimed post (status ``sending``) in a new group: (post id, group id)."""
    group = add_group(services, chat_id, f"G{chat_id}", OWNER)
    code = add_post(services, group, product_ids(services)["SKU1"])
    with services.db.transaction() as session:
        post = session.scalars(select(Post).where(Post.code == code)).one()
        post.status, post.sent_at = "sending", None
        return post.id, group


def test_each_post_keeps_the_time_its_answer_came(services) -> None:
    first, first_group = sending_post(services, -10)
    second, second_group = sending_post(services, -20)
    answered = services.now()
    later = answered + timedelta(minutes=1)
    services.now.advance(days=1)  # the batch is written long after the answers came

    services.posting.record_sent([(first, 71, answered), (second, 72, later)])

    with services.db.transaction() as session:
        posts = {p.id: p for p in session.scalars(select(Post))}
        groups = {g.id: g for g in session.scalars(select(Group))}
        assert [(posts[i].status, posts[i].message_id, posts[i].sent_at) for i in (first, second)] == [
            ("sent", 71, answered), ("sent", 72, later)]
        assert groups[first_group].last_post_at == answered
        assert groups[second_group].last_post_at == later
