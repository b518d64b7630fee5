from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.split import TIERS, Share, Upline, commission_pool, split_commission

RATES = {
    "platform_cut": Decimal("0.10"),
    "mentor_override": Decimal("0.05"),
    "partner_override": Decimal("0.03"),
}


def by_party(shares: list[Share]) -> dict[str, Share]:
    parties = [s.party for s in shares]
    assert len(parties) == len(set(parties)), parties
    return {s.party: s for s in shares}


def test_product_example_price_39_rate_10_percent() -> None:
    pool = commission_pool(3900, Decimal("0.10"))
    assert pool == 390
    shares = split_commission(
        pool,
        promoter_id=7,
        uplines=[],
        platform_cut=Decimal("0.10"),
        mentor_override=Decimal("0.05"),
        partner_override=Decimal("0.03"),
    )
    assert shares == [Share("platform", None, 39), Share("promoter", 7, 351)]


def test_commission_pool_rounds_half_even() -> None:
    assert commission_pool(25, Decimal("0.1")) == 2  # 2.5 → 2
    assert commission_pool(35, Decimal("0.1")) == 4  # 3.5 → 4
    assert commission_pool(36, Decimal("0.1")) == 4  # 3.6 → 4
    assert commission_pool(0, Decimal("0.5")) == 0


def test_commission_pool_rejects_negative_and_float() -> None:
    with pytest.raises(ValueError):
        commission_pool(-1, Decimal("0.1"))
    with pytest.raises(ValueError):
        commission_pool(100, Decimal("-0.1"))
    with pytest.raises(TypeError):
        commission_pool(100, 0.1)  # type: ignore[arg-type]


def test_partner_mentor_promoter_chain() -> None:
    # promoter 1, invited by mentor 2, invited by partner 3
    shares = split_commission(
        1000, promoter_id=1, uplines=[Upline(2, "mentor"), Upline(3, "partner")], **RATES
    )
    parts = by_party(shares)
    assert parts["platform"] == Share("platform", None, 100)
    assert parts["mentor"] == Share("mentor", 2, 50)
    assert parts["partner"] == Share("partner", 3, 30)
    assert parts["promoter"] == Share("promoter", 1, 820)
    assert sum(s.amount for s in shares) == 1000


def test_two_level_limit() -> None:
    # the partner sits three levels up: not paid
    shares = split_commission(
        1000,
        promoter_id=1,
        uplines=[Upline(2, "promoter"), Upline(3, "promoter"), Upline(4, "partner")],
        **RATES,
    )
    assert {s.party for s in shares} == {"platform", "promoter"}
    assert by_party(shares)["promoter"].amount == 900


def test_partner_at_level_one_gets_only_the_mentor_override() -> None:
    shares = split_commission(
        1000, promoter_id=1, uplines=[Upline(2, "partner"), Upline(3, "mentor")], **RATES
    )
    parts = by_party(shares)
    assert parts["mentor"] == Share("mentor", 2, 50)
    assert "partner" not in parts
    assert parts["promoter"].amount == 850


def test_two_partners_each_paid_once() -> None:
    shares = split_commission(
        1000, promoter_id=1, uplines=[Upline(2, "partner"), Upline(3, "partner")], **RATES
    )
    parts = by_party(shares)
    assert parts["mentor"] == Share("mentor", 2, 50)
    assert parts["partner"] == Share("partner", 3, 30)


def test_same_partner_listed_twice_is_paid_once() -> None:
    shares = split_commission(
        1000, promoter_id=1, uplines=[Upline(2, "partner"), Upline(2, "partner")], **RATES
    )
    parts = by_party(shares)
    assert parts["mentor"] == Share("mentor", 2, 50)
    assert "partner" not in parts


def test_mentor_at_level_two_when_level_one_is_a_promoter() -> None:
    shares = split_commission(
        1000, promoter_id=1, uplines=[Upline(2, "promoter"), Upline(3, "mentor")], **RATES
    )
    assert by_party(shares)["mentor"] == Share("mentor", 3, 50)


def test_upline_equal_to_promoter_is_ignored() -> None:
    shares = split_commission(
        1000, promoter_id=1, uplines=[Upline(1, "partner"), Upline(3, "promoter")], **RATES
    )
    assert {s.party for s in shares} == {"platform", "promoter"}


def test_unattributed_order_goes_to_the_platform() -> None:
    shares = split_commission(777, promoter_id=None, uplines=[Upline(2, "partner")], **RATES)
    assert shares == [Share("platform", None, 777)]


def test_overrides_are_floored_and_zero_shares_left_out() -> None:
    # pool 19: platform round(1.9)=2, mentor floor(0.95)=0 (left out), partner floor(0.57)=0
    shares = split_commission(
        19, promoter_id=1, uplines=[Upline(2, "mentor"), Upline(3, "partner")], **RATES
    )
    assert shares == [Share("platform", None, 2), Share("promoter", 1, 17)]
    # pool 0: platform and promoter are still present, with zero
    shares = split_commission(0, promoter_id=1, uplines=[], **RATES)
    assert shares == [Share("platform", None, 0), Share("promoter", 1, 0)]


def test_platform_rounds_half_even() -> None:
    cut = {**RATES, "platform_cut": Decimal("0.5")}
    assert split_commission(5, promoter_id=1, uplines=[], **cut)[0].amount == 2  # 2.5 → 2
    assert split_commission(7, promoter_id=1, uplines=[], **cut)[0].amount == 4  # 3.5 → 4


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        split_commission(-1, promoter_id=1, uplines=[], **RATES)
    with pytest.raises(ValueError):
        split_commission(
            100,
            promoter_id=1,
            uplines=[],
            platform_cut=Decimal("0.9"),
            mentor_override=Decimal("0.1"),
            partner_override=Decimal("0.1"),
        )
    with pytest.raises(TypeError):
        split_commission(100, promoter_id=1, uplines=[], **{**RATES, "platform_cut": 0.1})
    with pytest.raises(ValueError):
        Upline(2, "boss")


rate = st.decimals(min_value=0, max_value=Decimal("0.3333"), places=4)  # sum ≤ 1
uplines = st.lists(st.builds(Upline, st.integers(1, 6), st.sampled_from(TIERS)), max_size=4)


@given(
    pool=st.integers(0, 10**12),
    promoter=st.one_of(st.none(), st.integers(1, 6)),
    ups=uplines,
    cut=rate,
    mentor=rate,
    partner=rate,
)
def test_split_properties(
    pool: int,
    promoter: int | None,
    ups: list[Upline],
    cut: Decimal,
    mentor: Decimal,
    partner: Decimal,
) -> None:
    shares = split_commission(
        pool,
        promoter_id=promoter,
        uplines=ups,
        platform_cut=cut,
        mentor_override=mentor,
        partner_override=partner,
    )
    parts = by_party(shares)
    assert sum(s.amount for s in shares) == pool
    assert all(s.amount >= 0 for s in shares)
    assert "platform" in parts
    if promoter is None:
        assert shares == [Share("platform", None, pool)]
        return
    expected_platform = int((pool * cut).to_integral_value(rounding=ROUND_HALF_EVEN))
    assert parts["platform"].amount == expected_platform
    assert parts["promoter"].user_id == promoter
    considered = [u for u in ups[:2] if u.user_id != promoter]
    paid = [s.user_id for s in shares if s.party in ("mentor", "partner")]
    assert len(paid) == len(set(paid)), "nobody is paid twice"
    assert promoter not in paid
    if "mentor" in parts:
        nearest = next(u for u in considered if u.tier != "promoter")
        assert parts["mentor"].user_id == nearest.user_id
        assert parts["mentor"].amount == int(pool * mentor)  # floor, non-negative
    elif int(pool * mentor) > 0:
        assert all(u.tier == "promoter" for u in considered)
    mentor_id = parts["mentor"].user_id if "mentor" in parts else None
    if mentor_id is None and int(pool * mentor) == 0:
        # a zero mentor override is left out, but its holder was still "paid" it
        mentor_id = next((u.user_id for u in considered if u.tier != "promoter"), None)
    partners = [u for u in considered if u.tier == "partner" and u.user_id != mentor_id]
    if "partner" in parts:
        assert parts["partner"].user_id == partners[0].user_id
        assert parts["partner"].amount == int(pool * partner)
    elif int(pool * partner) > 0:
        assert not partners
