"""Promoter tiers, computed from data rather than stored, and upline cycle checks.

- ``mentor``: at least ``mentor_min_active_invitees`` direct invitees are active (the
  caller decides what active means: a confirmed order in the last 30 days).
- ``partner``: at least ``partner_min_mentors`` direct invitees hold tier mentor or
  partner. This does not also require the user's own mentor threshold: a partner is
  ranked above a mentor because of the mentors they brought in, and that is what
  PRODUCT.md asks for. A partner counts as "a mentor" for their own inviter.
- everyone else: ``promoter``.

Invite data should form a forest, but a cycle in stored data must not hang anything: the
partner rule is evaluated as a least fixed point, so a cycle alone never makes a partner.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

TIERS = ("promoter", "mentor", "partner")


def _check_minimum(name: str, value: int) -> None:
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")


def _users(invitees: Mapping[int, Sequence[int]], active: set[int]) -> set[int]:
    users = set(invitees) | set(active)
    for children in invitees.values():
        users.update(children)
    return users


def compute_tiers(
    *,
    invitees: Mapping[int, Sequence[int]],
    active: set[int],
    mentor_min_active_invitees: int,
    partner_min_mentors: int,
) -> dict[int, str]:
    """Every user named in ``invitees`` or ``active``, mapped to their tier."""
    _check_minimum("mentor_min_active_invitees", mentor_min_active_invitees)
    _check_minimum("partner_min_mentors", partner_min_mentors)
    users = _users(invitees, active)
    # Sets, because a duplicated invitee row must not count twice.
    children = {user: set(invitees.get(user, ())) for user in users}
    inviters: dict[int, set[int]] = {user: set() for user in users}
    for parent, kids in children.items():
        for kid in kids:
            inviters[kid].add(parent)

    mentor_eligible = {
        user for user in users if len(children[user] & active) >= mentor_min_active_invitees
    }

    # Worklist: when a user reaches mentor-or-higher, each inviter gains one mentor invitee.
    mentor_count = dict.fromkeys(users, 0)
    partners: set[int] = set()
    at_least_mentor: set[int] = set()
    queue = list(mentor_eligible)
    if partner_min_mentors == 0:
        partners.update(users)
        queue.extend(users)
    while queue:
        user = queue.pop()
        if user in at_least_mentor:
            continue
        at_least_mentor.add(user)
        for parent in inviters[user]:
            mentor_count[parent] += 1
            if parent not in partners and mentor_count[parent] >= partner_min_mentors:
                partners.add(parent)
                queue.append(parent)

    tiers: dict[int, str] = {}
    for user in users:
        if user in partners:
            tiers[user] = "partner"
        elif user in mentor_eligible:
            tiers[user] = "mentor"
        else:
            tiers[user] = "promoter"
    return tiers


@dataclass(frozen=True)
class Progress:
    """Where a user stands on the tier ladder, for /team."""

    tier: str
    next_tier: str | None  # None at the top
    active_invitees: int  # direct invitees who are active
    mentor_invitees: int  # direct invitees with tier mentor or partner
    active_needed: int  # more active invitees needed for mentor (0 when met)
    mentors_needed: int  # more mentor-or-higher invitees needed for partner (0 when met)

    @property
    def missing(self) -> int:
        """How many more invitees the next tier needs (0 at the top)."""
        if self.next_tier == "mentor":
            return self.active_needed
        if self.next_tier == "partner":
            return self.mentors_needed
        return 0

    def __str__(self) -> str:
        # A plain English fallback; chat texts should localise from the fields instead.
        if self.next_tier is None:
            return "Top tier reached."
        what = "active invitees" if self.next_tier == "mentor" else "invitees who are mentors"
        return f"Next tier: {self.next_tier}, {self.missing} more {what} needed."


def progress(
    *,
    tier: str,
    active_invitees: int,
    mentor_invitees: int,
    mentor_min_active_invitees: int,
    partner_min_mentors: int,
) -> Progress:
    """What a user with these counts of direct invitees still lacks for the next tier."""
    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}")
    index = TIERS.index(tier)
    return Progress(
        tier=tier,
        next_tier=TIERS[index + 1] if index + 1 < len(TIERS) else None,
        active_invitees=active_invitees,
        mentor_invitees=mentor_invitees,
        active_needed=max(0, mentor_min_active_invitees - active_invitees),
        mentors_needed=max(0, partner_min_mentors - mentor_invitees),
    )


def would_cycle(upline_of: Mapping[int, int | None], user: int, new_upline: int) -> bool:
    """True when making ``new_upline`` the inviter of ``user`` would close a loop."""
    seen: set[int] = set()
    current: int | None = new_upline
    while current is not None:
        if current == user:
            return True
        if current in seen:
            # A loop already in the data that does not pass through ``user``.
            return False
        seen.add(current)
        current = upline_of.get(current)
    return False
