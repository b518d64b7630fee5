"""The append-only commission ledger: which signed moves an order event books.

A move puts a signed amount into one bucket of one party's account. The ledger is never
rewritten: a change of state books new moves that take money out of one bucket and put it
into another, so every event after the first booking sums to zero across buckets.

Buckets:

- ``pending``: the order was reported but not confirmed yet.
- ``confirmed``: the order is confirmed; the money is not settled yet.
- ``payable``: confirmed and settled (``settle_after_days`` passed); may be paid out.
- ``paid``: paid out to the user.
- ``reversed``: commission that will never be paid (cancelled or refunded orders).

Order states: ``pending`` → ``confirmed`` → ``refunded``, or ``pending`` → ``cancelled``.
Networks re-send and reorder reports, so the ledger must end the same whatever order the
reports of one life arrive in. Hence: a first report may be any state (a first
``cancelled`` or ``refunded`` books the commission straight into ``reversed``, just as the
long way round would); a skipped step is allowed (``pending`` → ``refunded``); a report
of a state the order has already passed (``pending`` after ``confirmed``, ``confirmed``
after ``refunded``) is ``late`` and changes nothing. Repeating the current state is a
no-op. Only a change to the other branch (``confirmed`` ↔ ``cancelled``, ``cancelled`` →
``refunded`` and back) is illegal.

A refund takes the money out of the bucket where it sits now. A refund after payout books
a negative entry: the money already paid stays in ``paid`` and ``payable`` goes below zero
by the same amount, so the user's later earnings offset it before anything more is paid.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.domain.split import Share

ORDER_STATES = ("pending", "confirmed", "cancelled", "refunded")
BUCKETS = ("pending", "confirmed", "payable", "paid", "reversed")

# Where each state may go next; a repeated state is a no-op, handled separately.
_NEXT: dict[str | None, frozenset[str]] = {
    None: frozenset({"pending", "confirmed", "cancelled", "refunded"}),
    "pending": frozenset({"confirmed", "cancelled", "refunded"}),
    "confirmed": frozenset({"refunded"}),
    "cancelled": frozenset(),
    "refunded": frozenset(),
}
# States an order has already passed through: a report of one of them arrives late.
_PASSED: dict[str, frozenset[str]] = {
    "pending": frozenset(),
    "confirmed": frozenset({"pending"}),
    "cancelled": frozenset({"pending"}),
    "refunded": frozenset({"pending", "confirmed"}),
}

# The buckets a confirmed order's money may sit in when it is refunded.
MONEY_BUCKETS = ("confirmed", "payable", "paid")

Account = tuple[str, int | None]


@dataclass(frozen=True)
class Move:
    """A signed amount booked into one bucket of one party's account."""

    party: str
    user_id: int | None
    bucket: str
    amount: int

    @property
    def account(self) -> Account:
        """The (party, user_id) pair this move belongs to."""
        return (self.party, self.user_id)


def _check_state(state: str | None, *, allow_none: bool) -> None:
    if state is None and allow_none:
        return
    if state not in ORDER_STATES:
        raise ValueError(f"unknown order state {state!r}")


def transition(old: str | None, new: str) -> str:
    """Classify a state change: ``"apply"``, ``"noop"`` (same state again), ``"late"`` (a state
    already passed) or ``"illegal"``."""
    _check_state(old, allow_none=True)
    _check_state(new, allow_none=False)
    if old == new:
        return "noop"
    if new in _NEXT[old]:
        return "apply"
    return "late" if old is not None and new in _PASSED[old] else "illegal"


def _pair(share: Share, source: str, target: str) -> list[Move]:
    return [
        Move(share.party, share.user_id, source, -share.amount),
        Move(share.party, share.user_id, target, share.amount),
    ]


def _refund_source(share: Share, money_bucket: str | Mapping[Account, str] | None) -> str:
    if money_bucket is None:
        bucket = "confirmed"
    elif isinstance(money_bucket, str):
        bucket = money_bucket
    else:
        bucket = money_bucket.get((share.party, share.user_id), "confirmed")
    if bucket not in MONEY_BUCKETS:
        raise ValueError(f"a confirmed order's money cannot sit in {bucket!r}")
    # Paid money is gone; the refund is owed back, as a negative payable balance.
    return "payable" if bucket == "paid" else bucket


def moves_for(
    old: str | None,
    new: str,
    shares: Sequence[Share],
    *,
    money_bucket: str | Mapping[Account, str] | None = None,
) -> list[Move]:
    """The moves that an order's change from ``old`` to ``new`` books for its ``shares``.

    ``money_bucket`` (refunds only) says where the order's money sits now: ``"confirmed"``
    (the default), ``"payable"`` or ``"paid"``, for all shares or per (party, user_id).
    A no-op gives no moves; an illegal change raises ValueError. Zero shares book nothing.
    """
    verdict = transition(old, new)
    if verdict in ("noop", "late"):
        return []
    if verdict == "illegal":
        raise ValueError(f"illegal order state change {old} → {new}")
    for share in shares:
        if share.amount < 0:
            raise ValueError(f"negative share {share}")
    live = [s for s in shares if s.amount]

    if old is None:
        # A first cancelled/refunded report lands where pending → cancelled would end.
        bucket = new if new in ("pending", "confirmed") else "reversed"
        return [Move(s.party, s.user_id, bucket, s.amount) for s in live]
    if old == "pending":
        target = "confirmed" if new == "confirmed" else "reversed"
        return [m for s in live for m in _pair(s, "pending", target)]
    # confirmed → refunded, the only change left.
    return [m for s in live for m in _pair(s, _refund_source(s, money_bucket), "reversed")]


def reattribute_moves(held: Sequence[Move], shares: Sequence[Share], bucket: str) -> list[Move]:
    """Hand an order's commission to new ``shares`` once its click is known.

    An order reported before its click was written went wholly to the platform. When the
    click turns up while the money still sits in ``pending`` or ``confirmed`` (not settled),
    each account's holding there (``held``, positive moves in ``bucket``) is taken out and
    the new shares are booked into the same bucket.
    """
    if bucket not in ("pending", "confirmed"):
        raise ValueError(f"only pending or confirmed money can be re-attributed, not {bucket!r}")
    for move in held:
        if move.bucket != bucket or move.amount < 0:
            raise ValueError(f"held money must be positive and in {bucket!r}, got {move}")
    for share in shares:
        if share.amount < 0:
            raise ValueError(f"negative share {share}")
    return ([Move(m.party, m.user_id, bucket, -m.amount) for m in held if m.amount]
            + [Move(s.party, s.user_id, bucket, s.amount) for s in shares if s.amount])


def settle_moves(shares_in_confirmed: Sequence[Move]) -> list[Move]:
    """Move settled entries (positive, in ``confirmed``) to ``payable``."""
    moves: list[Move] = []
    for entry in shares_in_confirmed:
        if entry.bucket != "confirmed" or entry.amount < 0:
            raise ValueError(f"only positive confirmed entries settle, got {entry}")
        if entry.amount:
            moves.append(Move(entry.party, entry.user_id, "confirmed", -entry.amount))
            moves.append(Move(entry.party, entry.user_id, "payable", entry.amount))
    return moves


def payout_moves(user_id: int, party_entries: Sequence[tuple[str, int]]) -> list[Move]:
    """Move a payout to ``user_id`` from ``payable`` to ``paid``: one (party, amount) each."""
    moves: list[Move] = []
    for party, amount in party_entries:
        if party == "platform":
            raise ValueError("the platform's share is not paid out")
        if amount <= 0:
            raise ValueError(f"payout amounts must be positive, got {amount}")
        moves.append(Move(party, user_id, "payable", -amount))
        moves.append(Move(party, user_id, "paid", amount))
    return moves


def balances(moves: Iterable[Move]) -> dict[Account, dict[str, int]]:
    """Sum moves per (party, user_id) and bucket; every bucket is present for each account."""
    totals: dict[Account, dict[str, int]] = {}
    for move in moves:
        if move.bucket not in BUCKETS:
            raise ValueError(f"unknown bucket {move.bucket!r}")
        account = totals.setdefault(move.account, dict.fromkeys(BUCKETS, 0))
        account[move.bucket] += move.amount
    return totals
