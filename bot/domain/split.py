"""The commission split of one order between the platform, the promoter and the upline.

Rules (PRODUCT.md, "Money"):

- The pool is the order amount × the product's commission rate, rounded half-even to a
  whole minor unit (or the commission the network reports; the caller decides which).
- The platform gets pool × ``platform_cut``, rounded half-even.
- Only the first two entries of ``uplines`` (nearest first: the promoter's inviter, then
  that user's inviter) are considered. An entry whose user is the promoter (bad data,
  a cycle) is ignored.
- Of those, the nearest with tier ``mentor`` or ``partner`` gets
  floor(pool × ``mentor_override``) as party ``"mentor"``.
- Of those, the nearest with tier ``partner`` who was not already paid the mentor
  override gets floor(pool × ``partner_override``) as party ``"partner"``. Nobody is paid
  twice on one order, so a partner who is the nearest mentor-or-higher gets only the
  mentor override, and the partner override goes to the next partner within two levels,
  if there is one.
- The direct promoter gets the rest, so the parts always sum to the pool exactly. The
  overrides are floored and the platform part is rounded, so the promoter absorbs the
  remainders; with cut + overrides ≤ 1 the rest is never negative.
- No promoter (an unattributed order): the platform gets the whole pool.
- Zero-amount shares are left out, except the platform's (always present) and the
  promoter's (present whenever there is a promoter).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

TIERS = ("promoter", "mentor", "partner")
PARTIES = ("platform", "promoter", "mentor", "partner")


@dataclass(frozen=True)
class Upline:
    """One user above the promoter, with the tier they hold now."""

    user_id: int
    tier: str

    def __post_init__(self) -> None:
        if self.tier not in TIERS:
            raise ValueError(f"unknown tier {self.tier!r}")


@dataclass(frozen=True)
class Share:
    """One party's part of a commission pool, in minor units."""

    party: str
    user_id: int | None
    amount: int


def _check_rate(name: str, rate: Decimal) -> Decimal:
    # A float rate would smuggle binary rounding into money; insist on Decimal (or int).
    if isinstance(rate, bool) or not isinstance(rate, Decimal | int):
        raise TypeError(f"{name} must be a Decimal, got {type(rate).__name__}")
    value = Decimal(rate)
    if not value.is_finite() or value < 0 or value > 1:
        raise ValueError(f"{name} must be between 0 and 1, got {rate}")
    return value


def _scaled(pool: int, rate: Decimal, rounding: str) -> int:
    return int((Decimal(pool) * rate).to_integral_value(rounding=rounding))


def commission_pool(amount: int, rate: Decimal) -> int:
    """The commission pool of an order: ``amount × rate``, rounded half-even."""
    if amount < 0:
        raise ValueError(f"amount must not be negative, got {amount}")
    if isinstance(rate, bool) or not isinstance(rate, Decimal | int):
        raise TypeError(f"rate must be a Decimal, got {type(rate).__name__}")
    value = Decimal(rate)
    if not value.is_finite() or value < 0:
        raise ValueError(f"rate must not be negative, got {rate}")
    return _scaled(amount, value, ROUND_HALF_EVEN)


def split_commission(
    pool: int,
    *,
    promoter_id: int | None,
    uplines: Sequence[Upline],
    platform_cut: Decimal,
    mentor_override: Decimal,
    partner_override: Decimal,
) -> list[Share]:
    """Split ``pool`` into platform, promoter, mentor and partner shares (see module doc)."""
    if pool < 0:
        raise ValueError(f"commission pool must not be negative, got {pool}")
    cut = _check_rate("platform_cut", platform_cut)
    mentor_rate = _check_rate("mentor_override", mentor_override)
    partner_rate = _check_rate("partner_override", partner_override)
    if cut + mentor_rate + partner_rate > 1:
        raise ValueError("platform_cut + mentor_override + partner_override must not exceed 1")

    if promoter_id is None:
        return [Share("platform", None, pool)]

    platform = _scaled(pool, cut, ROUND_HALF_EVEN)
    # Slice first, then drop the promoter: the limit counts levels, not eligible users.
    levels = [u for u in uplines[:2] if u.user_id != promoter_id]

    mentor = next((u for u in levels if u.tier in ("mentor", "partner")), None)
    partner = next(
        (
            u
            for u in levels
            if u.tier == "partner" and (mentor is None or u.user_id != mentor.user_id)
        ),
        None,
    )

    shares = [Share("platform", None, platform)]
    overrides: list[Share] = []
    if mentor is not None:
        amount = _scaled(pool, mentor_rate, ROUND_FLOOR)
        if amount:
            overrides.append(Share("mentor", mentor.user_id, amount))
    if partner is not None:
        amount = _scaled(pool, partner_rate, ROUND_FLOOR)
        if amount:
            overrides.append(Share("partner", partner.user_id, amount))
    rest = pool - platform - sum(s.amount for s in overrides)
    shares.append(Share("promoter", promoter_id, rest))
    shares.extend(overrides)
    return shares
