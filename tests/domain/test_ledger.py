from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.ledger import (
    BUCKETS,
    ORDER_STATES,
    Move,
    balances,
    moves_for,
    payout_moves,
    reattribute_moves,
    settle_moves,
    transition,
)
from bot.domain.split import TIERS, Share, Upline, split_commission

SHARES = [Share("platform", None, 39), Share("promoter", 7, 351)]


def test_transitions() -> None:
    legal = {
        (None, "pending"),
        (None, "confirmed"),
        (None, "cancelled"),
        (None, "refunded"),
        ("pending", "confirmed"),
        ("pending", "cancelled"),
        ("pending", "refunded"),
        ("confirmed", "refunded"),
    }
    late = {("confirmed", "pending"), ("cancelled", "pending"), ("refunded", "pending"),
            ("refunded", "confirmed")}
    for old in (None, *ORDER_STATES):
        for new in ORDER_STATES:
            verdict = transition(old, new)
            if old == new:
                assert verdict == "noop"
            elif (old, new) in legal:
                assert verdict == "apply", (old, new)
            elif (old, new) in late:
                assert verdict == "late", (old, new)
            else:
                assert verdict == "illegal", (old, new)
    assert transition("confirmed", "cancelled") == "illegal"
    assert transition("cancelled", "refunded") == "illegal"
    assert transition("refunded", "cancelled") == "illegal"
    assert transition("cancelled", "confirmed") == "illegal"


def test_unknown_states_raise() -> None:
    with pytest.raises(ValueError):
        transition(None, "shipped")
    with pytest.raises(ValueError):
        transition("shipped", "pending")


def test_first_report_books_into_its_bucket() -> None:
    assert moves_for(None, "pending", SHARES) == [
        Move("platform", None, "pending", 39),
        Move("promoter", 7, "pending", 351),
    ]
    assert [m.bucket for m in moves_for(None, "confirmed", SHARES)] == ["confirmed"] * 2
    # a first cancelled report ends where pending → cancelled would: all in reversed
    assert [m.bucket for m in moves_for(None, "cancelled", SHARES)] == ["reversed"] * 2


def test_pending_to_confirmed_and_cancelled() -> None:
    assert moves_for("pending", "confirmed", SHARES[1:]) == [
        Move("promoter", 7, "pending", -351),
        Move("promoter", 7, "confirmed", 351),
    ]
    assert moves_for("pending", "cancelled", SHARES[1:]) == [
        Move("promoter", 7, "pending", -351),
        Move("promoter", 7, "reversed", 351),
    ]


def test_refund_from_each_money_bucket() -> None:
    share = SHARES[1:]
    assert moves_for("confirmed", "refunded", share)[0] == Move("promoter", 7, "confirmed", -351)
    assert moves_for("confirmed", "refunded", share, money_bucket="payable")[0].bucket == (
        "payable"
    )
    # a refund after payout books a negative payable entry; "paid" is never rewritten
    assert moves_for("confirmed", "refunded", share, money_bucket="paid") == [
        Move("promoter", 7, "payable", -351),
        Move("promoter", 7, "reversed", 351),
    ]
    per_account = {("promoter", 7): "paid"}
    moves = moves_for("confirmed", "refunded", SHARES, money_bucket=per_account)
    assert Move("platform", None, "confirmed", -39) in moves
    assert Move("promoter", 7, "payable", -351) in moves
    with pytest.raises(ValueError):
        moves_for("confirmed", "refunded", share, money_bucket="pending")


def test_noop_and_illegal() -> None:
    assert moves_for("confirmed", "confirmed", SHARES) == []
    with pytest.raises(ValueError):
        moves_for("cancelled", "confirmed", SHARES)
    with pytest.raises(ValueError):
        moves_for(None, "pending", [Share("promoter", 7, -1)])


def test_zero_shares_book_nothing() -> None:
    assert moves_for(None, "pending", [Share("promoter", 7, 0)]) == []


def test_settle_and_payout() -> None:
    booked = moves_for(None, "confirmed", SHARES)
    settled = settle_moves(booked)
    assert settled == [
        Move("platform", None, "confirmed", -39),
        Move("platform", None, "payable", 39),
        Move("promoter", 7, "confirmed", -351),
        Move("promoter", 7, "payable", 351),
    ]
    paid = payout_moves(7, [("promoter", 300)])
    totals = balances([*booked, *settled, *paid])
    assert totals[("promoter", 7)] == {
        "pending": 0,
        "confirmed": 0,
        "payable": 51,
        "paid": 300,
        "reversed": 0,
    }
    with pytest.raises(ValueError):
        settle_moves([Move("promoter", 7, "pending", 5)])
    with pytest.raises(ValueError):
        payout_moves(7, [("promoter", 0)])
    with pytest.raises(ValueError):
        payout_moves(7, [("platform", 5)])


def test_balances_sums_per_account() -> None:
    totals = balances(
        [
            Move("mentor", 2, "pending", 5),
            Move("mentor", 2, "pending", 7),
            Move("promoter", 2, "paid", 1),
        ]
    )
    assert totals[("mentor", 2)]["pending"] == 12
    assert totals[("promoter", 2)]["paid"] == 1
    assert set(totals[("mentor", 2)]) == set(BUCKETS)
    with pytest.raises(ValueError):
        balances([Move("mentor", 2, "limbo", 5)])


def test_reattribution_takes_the_platforms_holding_and_books_the_split() -> None:
    held = [Move("platform", None, "confirmed", 390)]
    moves = reattribute_moves(held, SHARES, "confirmed")
    assert moves == [Move("platform", None, "confirmed", -390),
                     Move("platform", None, "confirmed", 39), Move("promoter", 7, "confirmed", 351)]
    assert balances(held + moves) == balances([Move("platform", None, "confirmed", 39),
                                               Move("promoter", 7, "confirmed", 351)])
    # nothing held yet (no commission known when the order came): the split is a first booking
    assert reattribute_moves([], SHARES, "pending") == [Move("platform", None, "pending", 39),
                                                        Move("promoter", 7, "pending", 351)]


@pytest.mark.parametrize("bucket", ["payable", "paid", "reversed"])
def test_settled_or_reversed_money_is_not_reattributed(bucket: str) -> None:
    with pytest.raises(ValueError, match="only pending or confirmed"):
        reattribute_moves([Move("platform", None, bucket, 390)], SHARES, bucket)


def test_reattribution_refuses_holdings_from_another_bucket() -> None:
    with pytest.raises(ValueError, match="held money"):
        reattribute_moves([Move("platform", None, "payable", 390)], SHARES, "confirmed")
    with pytest.raises(ValueError, match="negative share"):
        reattribute_moves([], [Share("promoter", 7, -1)], "pending")


# --- properties -------------------------------------------------------------------------

shares_strategy = st.builds(
    lambda pool, promoter, ups: split_commission(
        pool,
        promoter_id=promoter,
        uplines=ups,
        platform_cut=Decimal("0.10"),
        mentor_override=Decimal("0.05"),
        partner_override=Decimal("0.03"),
    ),
    st.integers(0, 10**9),
    st.one_of(st.none(), st.integers(1, 5)),
    st.lists(st.builds(Upline, st.integers(1, 5), st.sampled_from(TIERS)), max_size=3),
)
# Order reports (possibly repeated, possibly out of order) mixed with the money's life.
events_strategy = st.lists(st.sampled_from((*ORDER_STATES, "settle", "payout")), max_size=12)


def expected_balances(
    shares: list[Share], state: str | None, booked: bool, where: str
) -> dict[tuple[str, int | None], dict[str, int]]:
    """What the ledger must hold, derived from the outcome only, not from the event order."""
    result = {}
    for share in shares:
        if not share.amount or not booked:
            continue
        row = dict.fromkeys(BUCKETS, 0)
        if state in ("pending", "cancelled"):
            row["reversed" if state == "cancelled" else "pending"] = share.amount
        elif state == "confirmed":
            row[where] = share.amount
        else:  # refunded
            row["reversed"] = share.amount
            if where == "paid":
                row["paid"] = share.amount
                row["payable"] = -share.amount
        result[(share.party, share.user_id)] = row
    return {k: v for k, v in result.items() if any(v.values())}


def _bucket_map(shares: list[Share], where: str) -> dict[tuple[str, int | None], str]:
    # After a payout the users' money sits in "paid"; the platform's stays "payable".
    if where == "paid":
        return {
            (s.party, s.user_id): "payable" if s.party == "platform" else "paid" for s in shares
        }
    return {(s.party, s.user_id): where for s in shares}


def _expected(
    shares: list[Share], state: str | None, booked: bool, where: str
) -> dict[tuple[str, int | None], dict[str, int]]:
    buckets = _bucket_map(shares, where)
    expected = {}
    for share in shares:
        expected.update(
            expected_balances([share], state, booked, buckets[(share.party, share.user_id)])
        )
    return expected


@given(shares=shares_strategy, events=events_strategy)
def test_ledger_depends_only_on_the_outcome(shares: list[Share], events: list[str]) -> None:
    state: str | None = None
    where = "confirmed"  # where a confirmed order's money sits: confirmed, payable, paid
    booked = False
    ledger: list[Move] = []
    for event in events:
        initial = False
        if event == "settle":
            if state != "confirmed" or where != "confirmed":
                continue
            moves = settle_moves([m for m in ledger if m.bucket == "confirmed" and m.amount > 0])
            where = "payable"
        elif event == "payout":
            if state != "confirmed" or where != "payable":
                continue
            moves = [
                move
                for s in shares
                if s.party != "platform" and s.amount and s.user_id is not None
                for move in payout_moves(s.user_id, [(s.party, s.amount)])
            ]
            where = "paid"
        else:
            verdict = transition(state, event)
            if verdict == "illegal":
                with pytest.raises(ValueError):
                    moves_for(state, event, shares)
                continue
            if verdict in ("noop", "late"):
                assert moves_for(state, event, shares) == []
                continue
            moves = moves_for(state, event, shares, money_bucket=_bucket_map(shares, where))
            initial = state is None
            if initial:
                booked = True
            state = event
        if initial:
            assert all(m.amount > 0 for m in moves)
            assert sum(m.amount for m in moves) == (sum(s.amount for s in shares) if booked else 0)
        else:
            # every later move list sums to zero, per account even
            for account in {m.account for m in moves}:
                assert sum(m.amount for m in moves if m.account == account) == 0
        ledger.extend(moves)

    totals = {k: v for k, v in balances(ledger).items() if any(v.values())}
    assert totals == _expected(shares, state, booked, where)
    # money is neither created nor lost: each account's buckets add up to its share
    for share in shares:
        if booked and share.amount:
            assert sum(totals[(share.party, share.user_id)].values()) == share.amount


@given(shares=shares_strategy)
def test_split_parts_never_negative_and_sum_to_pool(shares: list[Share]) -> None:
    assert all(s.amount >= 0 for s in shares)
    booked = moves_for(None, "confirmed", shares)
    assert sum(m.amount for m in booked) == sum(s.amount for s in shares)
