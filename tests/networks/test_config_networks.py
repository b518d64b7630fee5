"""The network keys of the config: [networks.jd], merchants' S2S and Google keys, env
overrides for secrets, one-line errors, and the secrets masked in output."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.config import ConfigError, parse_config, secret_values

JD = {"app_key": "key-1", "app_secret": "jd-secret-value", "union_id": "1000001", "enabled": True}


def test_jd_and_merchant_keys_with_env_overrides() -> None:
    config = parse_config({"networks": {"jd": JD}, "merchants": {"acme": {
        "postback_token": "acme-token-value", "status_map": {"1": "pending", "2": "confirmed"},
        "commission_rate": 0.06}}}, env={"KOCBOT_NETWORKS_JD_APP_SECRET": "from-env-secret",
                                         "KOCBOT_NETWORKS_JD_POLL_SECONDS": "120"})
    jd = config.networks.jd
    assert (jd.app_secret, jd.poll_seconds, jd.api_url) == ("from-env-secret", 120,
                                                            "https://api.jd.com/routerjson")
    acme = config.merchants["acme"]
    assert acme.status_map == {"1": "pending", "2": "confirmed"}
    assert acme.commission_rate == Decimal("0.06")
    assert {"from-env-secret", "acme-token-value"} <= set(secret_values(config))


@pytest.mark.parametrize("raw,message", [
    ({"networks": {"jd": {**JD, "app_key": ""}}}, "networks.jd.app_key: missing"),
    ({"networks": {"jd": {**JD, "poll_seconds": 1}}}, "networks.jd.poll_seconds: must be 10"),
    ({"networks": {"jd": {**JD, "api_url": "ftp://x"}}}, "networks.jd.api_url: expected an http"),
    ({"networks": {"taobao": {}}}, "[networks.taobao]: unknown network"),
    ({"networks": {"jd": {**JD, "colour": 1}}}, "networks.jd.colour: unknown key"),
    ({"merchants": {"m": {"status_map": {"1": "paid"}}}}, "merchants.m.status_map: '1' maps to 'paid'"),
    ({"merchants": {"m": {"status_map": ["pending"]}}}, "merchants.m.status_map: expected a table"),
    ({"merchants": {"m": {"commission_rate": 2}}}, "merchants.m.commission_rate: must be between"),
])
def test_bad_values_are_one_line_naming_the_key(raw: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, env={})
    assert message in str(caught.value) and "\n" not in str(caught.value)
