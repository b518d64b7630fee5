import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.tiers import Progress, compute_tiers, progress, would_cycle

THRESHOLDS = {"mentor_min_active_invitees": 2, "partner_min_mentors": 2}


def test_everyone_starts_as_promoter() -> None:
    tiers = compute_tiers(invitees={1: [2, 3]}, active=set(), **THRESHOLDS)
    assert tiers == {1: "promoter", 2: "promoter", 3: "promoter"}


def test_mentor_needs_enough_active_direct_invitees() -> None:
    invitees = {1: [2, 3, 4], 2: [5]}
    assert compute_tiers(invitees=invitees, active={2}, **THRESHOLDS)[1] == "promoter"
    assert compute_tiers(invitees=invitees, active={2, 3}, **THRESHOLDS)[1] == "mentor"
    # grandchildren do not count
    assert compute_tiers(invitees=invitees, active={2, 5}, **THRESHOLDS)[1] == "promoter"
    # a duplicated invitee row counts once
    assert compute_tiers(invitees={1: [2, 2]}, active={2}, **THRESHOLDS)[1] == "promoter"


def test_partner_needs_mentor_invitees_not_own_activity() -> None:
    # 1 invited 2 and 3; each of them has two active invitees → both mentors
    invitees = {1: [2, 3], 2: [20, 21], 3: [30, 31]}
    active = {20, 21, 30, 31}
    tiers = compute_tiers(invitees=invitees, active=active, **THRESHOLDS)
    assert tiers[2] == tiers[3] == "mentor"
    # 1's own invitees 2 and 3 are not active, yet 1 is a partner
    assert tiers[1] == "partner"
    assert tiers[20] == "promoter"


def test_partner_invitees_count_as_mentors() -> None:
    # 2 and 3 are partners (not mentor-eligible themselves); their inviter 1 is a partner too
    invitees = {
        1: [2, 3],
        2: [20, 21],
        20: [200, 201],
        21: [210, 211],
        3: [30, 31],
        30: [300, 301],
        31: [310, 311],
    }
    active = {200, 201, 210, 211, 300, 301, 310, 311}
    tiers = compute_tiers(invitees=invitees, active=active, **THRESHOLDS)
    assert tiers[2] == tiers[3] == "partner"
    assert tiers[1] == "partner"


def test_cycle_in_data_terminates_and_makes_no_partner() -> None:
    tiers = compute_tiers(
        invitees={1: [2], 2: [1]},
        active={1, 2},
        mentor_min_active_invitees=1,
        partner_min_mentors=1,
    )
    # each is a mentor (one active invitee), so each has one mentor invitee → partner
    assert tiers == {1: "partner", 2: "partner"}
    tiers = compute_tiers(
        invitees={1: [2], 2: [1]}, active=set(), mentor_min_active_invitees=1, partner_min_mentors=1
    )
    assert tiers == {1: "promoter", 2: "promoter"}


def test_negative_thresholds_rejected() -> None:
    with pytest.raises(ValueError):
        compute_tiers(
            invitees={}, active=set(), mentor_min_active_invitees=-1, partner_min_mentors=1
        )


def test_progress() -> None:
    result = progress(tier="promoter", active_invitees=1, mentor_invitees=1, **THRESHOLDS)
    assert result == Progress(
        tier="promoter",
        next_tier="mentor",
        active_invitees=1,
        mentor_invitees=1,
        active_needed=1,
        mentors_needed=1,
    )
    assert result.missing == 1
    assert str(result) == "Next tier: mentor, 1 more active invitees needed."
    mentor = progress(tier="mentor", active_invitees=5, mentor_invitees=0, **THRESHOLDS)
    assert (mentor.next_tier, mentor.active_needed, mentor.missing) == ("partner", 0, 2)
    assert "2 more invitees who are mentors" in str(mentor)
    top = progress(tier="partner", active_invitees=0, mentor_invitees=9, **THRESHOLDS)
    assert top.next_tier is None and top.missing == 0 and top.mentors_needed == 0
    assert str(top) == "Top tier reached."
    with pytest.raises(ValueError):
        progress(tier="boss", active_invitees=0, mentor_invitees=0, **THRESHOLDS)


def test_progress_agrees_with_compute_tiers() -> None:
    invitees = {1: [2, 3, 4], 2: [20, 21], 3: [30, 31]}
    active = {2, 20, 21}
    tiers = compute_tiers(invitees=invitees, active=active, **THRESHOLDS)
    kids = invitees[1]
    result = progress(
        tier=tiers[1],
        active_invitees=len(set(kids) & active),
        mentor_invitees=sum(1 for k in kids if tiers[k] != "promoter"),
        **THRESHOLDS,
    )
    assert (result.tier, result.active_needed, result.mentors_needed) == ("promoter", 1, 1)


def test_would_cycle() -> None:
    upline_of = {2: 1, 3: 2, 4: None}
    assert would_cycle(upline_of, 1, 3)  # 3 → 2 → 1: 1 under 3 closes a loop
    assert would_cycle(upline_of, 5, 5)
    assert not would_cycle(upline_of, 4, 3)
    assert not would_cycle(upline_of, 5, 9)  # unknown upline: no chain above it
    # an existing loop elsewhere does not hang the walk
    assert not would_cycle({7: 8, 8: 7}, 1, 7)


forest = st.dictionaries(st.integers(1, 12), st.lists(st.integers(1, 12), max_size=4), max_size=8)


@given(
    invitees=forest,
    active=st.sets(st.integers(1, 12)),
    mentor_min=st.integers(0, 3),
    partner_min=st.integers(0, 3),
)
def test_tier_rules_hold_for_every_user(
    invitees: dict[int, list[int]], active: set[int], mentor_min: int, partner_min: int
) -> None:
    tiers = compute_tiers(
        invitees=invitees,
        active=active,
        mentor_min_active_invitees=mentor_min,
        partner_min_mentors=partner_min,
    )
    for user, tier in tiers.items():
        kids = set(invitees.get(user, ()))
        active_kids = len(kids & active)
        mentor_kids = sum(1 for k in kids if tiers[k] != "promoter")
        if tier == "partner":
            assert mentor_kids >= partner_min
        elif tier == "mentor":
            assert active_kids >= mentor_min and mentor_kids < partner_min
        else:
            assert active_kids < mentor_min
            # no partner would be missed: a user with enough mentor kids is a partner
            assert mentor_kids < partner_min
