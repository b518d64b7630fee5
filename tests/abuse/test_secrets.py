"""Secrets never appear in output: the database password in config errors, a token of the wrong
type, and any secret that reaches a log line (message, arguments, context or traceback)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import ConfigError, parse_config, secret_values
from bot.logs import redact_secrets, setup_logging
from tests.test_cli import kocbot

PASSWORD = "pw-Hunter2-secret"  # noqa: S105 - a fake, to look for in output
TOKEN = "123456:TOKEN-must-not-leak"  # noqa: S105


def test_a_bad_database_url_is_shown_without_its_password(tmp_path: Path) -> None:
    result = kocbot("db", "upgrade", cwd=tmp_path,
                    env={"KOCBOT_DATABASE_URL": f"mysql://kocbot:{PASSWORD}@db.internal/shop"})
    assert result.returncode == 2
    assert PASSWORD not in result.stderr + result.stdout
    assert result.stderr.strip() == ("kocbot: config key database.url: expected sqlite:/// or "
                                     "postgresql:// URL, got 'mysql://kocbot:***@db.internal/shop'")


def test_a_secret_of_the_wrong_type_is_not_echoed(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[postback]\nsecret = 918273645\n[telegram]\ntoken = "x"\n')
    result = kocbot("db", "upgrade", "-c", str(config), cwd=tmp_path)
    assert result.returncode == 2
    assert "918273645" not in result.stderr
    assert "postback.secret: expected a string, got (hidden)" in result.stderr
    with pytest.raises(ConfigError) as caught:
        parse_config({"telegram": {"webhook_secret": ["abc", "defgh"]}}, env={})
    assert "defgh" not in str(caught.value)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize("json_lines", [True, False])
def test_log_lines_mask_every_secret(json_lines: bool, restore_logging: None,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    config = parse_config({"telegram": {"token": TOKEN},
                           "database": {"url": f"postgresql+psycopg://kocbot:{PASSWORD}@db/shop"},
                           "postback": {"secret": "postback-key-42"}}, env={})
    assert set(secret_values(config)) == {TOKEN, PASSWORD, "postback-key-42"}
    setup_logging(json_lines=json_lines)
    redact_secrets(secret_values(config))
    log = logging.getLogger("bot.test")
    log.warning("calling https://api.telegram.org/bot%s/getMe", TOKEN)
    log.warning(f"dsn {config.database.url}", extra={"error": f"bad key postback-key-42 for {TOKEN}"})
    try:
        raise RuntimeError(f"connect failed for {config.database.url}")
    except RuntimeError:
        log.exception("database down")
    err = capsys.readouterr().err
    for secret in (TOKEN, PASSWORD, "postback-key-42"):
        assert secret not in err
    assert err.count("***") >= 3
    assert "database down" in err and "RuntimeError" in err
