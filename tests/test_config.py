"""Config: TOML plus KOCBOT_* environment, and one clear line naming the key on bad input."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config, parse_config


def test_defaults_match_the_product_contract() -> None:
    config = parse_config({}, env={})
    assert config.database.url == "sqlite:///kocbot.db"
    assert config.schedule.default_times == ("09:00", "20:00")
    assert config.commission.platform_cut == Decimal("0.10")
    assert config.commission.min_payout == Decimal("10.00")
    assert config.card.locale == "zh_CN"


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[telegram]\ntoken = "from-file"\n[web]\nport = 8080\n')
    env = {"KOCBOT_TELEGRAM_TOKEN": "from-env", "KOCBOT_WEB_PORT": "9090",
           "KOCBOT_TELEGRAM_ADMINS": "1, 2", "KOCBOT_COMMISSION_SELF_PURCHASE": "no"}
    config = load_config(path, env=env)
    assert config.telegram.token == "from-env"
    assert config.web.port == 9090
    assert config.telegram.admins == (1, 2)
    assert config.commission.self_purchase is False


@pytest.mark.parametrize(("raw", "env", "names"), [
    ({"web": {"port": "eighty"}}, {}, "web.port"),
    ({"web": {"port": 0}}, {}, "web.port"),
    ({}, {"KOCBOT_WEB_PORT": "x"}, "web.port (from KOCBOT_WEB_PORT)"),
    ({"schedule": {"timezone": "Mars/Olympus"}}, {}, "schedule.timezone"),
    ({"schedule": {"default_times": ["25:00"]}}, {}, "schedule.default_times"),
    ({"commission": {"platform_cut": 1.5}}, {}, "commission.platform_cut"),
    ({"commission": {"currency": "yuan"}}, {}, "commission.currency"),
    ({"telegram": {"mode": "push"}}, {}, "telegram.mode"),
    ({"telegram": {"mode": "webhook"}}, {}, "telegram.webhook_secret"),
    ({"telegram": {"admins": ["me"]}}, {}, "telegram.admins"),
    ({"database": {"url": "mysql://x"}}, {}, "database.url"),
    ({"card": {"locale": "fr"}}, {}, "card.locale"),
    ({"card": {"buy_button": "tap"}}, {}, "card.buy_button"),
    ({"web": {"prot": 1}}, {}, "web.prot"),
    ({"web": {"click_writer": "fork"}}, {}, "web.click_writer"),
    ({"colour": {}}, {}, "[colour]"),
])
def test_a_bad_value_names_its_key_in_one_line(raw: dict, env: dict, names: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, env=env)
    message = str(caught.value)
    assert names in message
    assert "\n" not in message


def test_invalid_toml_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[web\nport = 1\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(path, env={})


def test_every_key_is_in_the_example() -> None:
    example = (Path(__file__).parent.parent / "config.example.toml").read_text()
    config = load_config(Path(__file__).parent.parent / "config.example.toml", env={})
    for section in ("telegram", "database", "web", "schedule", "commission", "tiers", "postback", "card",
                    "metrics"):
        assert f"[{section}]" in example
        for key in vars(getattr(config, section)):
            line = next((ln for ln in example.splitlines() if ln.startswith(f"{key} ")), None)
            assert line is not None and "#" in line, f"{section}.{key} lacks a commented line"


def test_paid_broadcast_is_off_by_default_and_redis_url_must_be_a_redis_url() -> None:
    config = parse_config({"telegram": {"token": "1:x"}}, env={})
    assert config.telegram.paid_broadcast is False and config.telegram.redis_url == ""
    on = parse_config({"telegram": {"token": "1:x", "paid_broadcast": True,
                                    "redis_url": "redis://127.0.0.1:6379/0"}}, env={})
    assert on.telegram.paid_broadcast is True
    with pytest.raises(ConfigError, match="telegram.redis_url"):
        parse_config({"telegram": {"token": "1:x", "redis_url": "http://127.0.0.1:6379"}}, env={})
