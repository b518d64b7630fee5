"""The command line's options as real processes: -c on either side, --version, --log-level,
help texts, card formats, a quiet start, and the start line of ``kocbot run``."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.support.flow import feed_csv
from tests.test_cli import kocbot

ROOT = Path(__file__).resolve().parents[1]
ROW = "acme,A1,保温杯 Thermos,https://shop.example/a1,39.00,59.00,10%,home,,,,,,CNY"


def sqlite_config(path: Path, db: Path) -> Path:
    path.write_text(f'[database]\nurl = "sqlite:///{db}"\n[card]\nlocale = "en"\n')
    return path


@pytest.mark.parametrize("before", [True, False])
def test_config_is_honoured_before_and_after_the_subcommand(tmp_path: Path, before: bool) -> None:
    config = sqlite_config(tmp_path / "prod.toml", tmp_path / "prod.db")
    feed = tmp_path / "feed.csv"
    feed.write_bytes(feed_csv(ROW))
    args = ["products", "import", str(feed)]
    args = ["-c", str(config), *args] if before else [*args, "-c", str(config)]
    result = kocbot(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "prod.db").exists()
    assert not (tmp_path / "kocbot.db").exists()  # the default database was never touched


def test_a_bad_config_before_the_subcommand_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[web]\nport = 0\n")
    result = kocbot("-c", str(bad), "run", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "kocbot: config key web.port: expected 1-65535, got 0"


def test_version_and_help_texts(tmp_path: Path) -> None:
    version = kocbot("--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.strip().startswith("kocbot 0.")
    upgrade = kocbot("db", "upgrade", "--help", cwd=tmp_path)
    assert upgrade.returncode == 0 and "apply the database migrations" in upgrade.stdout
    assert upgrade.stdout.startswith("usage: kocbot db upgrade")
    run = kocbot("run", "--help", cwd=tmp_path)
    assert "sender (sends posts)" in " ".join(run.stdout.split())
    products = kocbot("products", "import", "--help", cwd=tmp_path)
    for column in ("merchant", "sku", "original_price", "commission_rate", "ends_at", "active",
                   "GB18030", "exit status"):
        assert column in products.stdout
    orders = kocbot("orders", "import", "--help", cwd=tmp_path)
    assert "order_id, click_id, amount, status" in orders.stdout


def test_log_level_and_no_alembic_noise(tmp_path: Path) -> None:
    config = sqlite_config(tmp_path / "k.toml", tmp_path / "k.db")
    quiet = kocbot("db", "upgrade", "--log-level", "info", "-c", str(config), cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert "setup plugin" not in quiet.stderr and "Context impl" not in quiet.stderr
    assert quiet.stdout.strip() == "database is up to date"
    loud = kocbot("--log-level", "debug", "db", "upgrade", "-c", str(config), cwd=tmp_path)
    assert "Context impl" in loud.stderr  # debug shows what info hides
    bad = kocbot("--log-level", "chatty", "groups", cwd=tmp_path)
    assert bad.returncode == 2 and "--log-level" in bad.stderr


@pytest.mark.parametrize(("name", "magic"), [("x.webp", b"RIFF"), ("x.png", b"\x89PNG"),
                                             ("x.jpg", b"\xff\xd8\xff"), ("x.JPEG", b"\xff\xd8\xff")])
def test_card_preview_format_follows_the_suffix(tmp_path: Path, name: str, magic: bytes) -> None:
    config = sqlite_config(tmp_path / "k.toml", tmp_path / "k.db")
    feed = tmp_path / "feed.csv"
    feed.write_bytes(feed_csv(ROW))
    assert kocbot("products", "import", str(feed), "-c", str(config), cwd=tmp_path).returncode == 0
    result = kocbot("card", "preview", "A1", "-o", name, "-c", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = (tmp_path / name).read_bytes()
    assert data.startswith(magic)
    if name.endswith(".webp"):
        assert data[8:12] == b"WEBP"


def test_card_preview_refuses_an_unknown_suffix(tmp_path: Path) -> None:
    config = sqlite_config(tmp_path / "k.toml", tmp_path / "k.db")
    result = kocbot("card", "preview", "A1", "-o", "card.gif", "-c", str(config), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == ("kocbot: -o card.gif: unknown image type '.gif'; use .png, .jpg, "
                                     ".jpeg, .webp")
    assert not (tmp_path / "card.gif").exists()


def test_webhook_without_https_is_refused_unless_the_api_is_self_hosted(tmp_path: Path) -> None:
    config = tmp_path / "k.toml"
    base = '[telegram]\nmode = "webhook"\nwebhook_secret = "s3cret"\ntoken = "1:T"\n' \
           '[web]\npublic_url = "http://bot.example.com"\n'
    config.write_text(base)
    result = kocbot("run", "-c", str(config), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("kocbot: config key web.public_url: webhook mode needs an https:// URL")
    assert len(result.stderr.strip().splitlines()) == 1
    # A self-hosted Bot API server accepts HTTP webhooks: the config is accepted (db upgrade runs).
    config.write_text(base.replace('token = "1:T"', 'token = "1:T"\nbase_url = "http://10.0.0.5:8081/bot"')
                      + f'[database]\nurl = "sqlite:///{tmp_path / "k.db"}"\n')
    assert kocbot("db", "upgrade", "-c", str(config), cwd=tmp_path).returncode == 0


async def test_run_start_line_names_listen_address_public_url_and_masked_database(
        emulator, tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "k.toml"
    config.write_text(f"""
[telegram]
token = "{emulator.token}"
base_url = "{emulator.base_url}"
[database]
url = "sqlite:///{tmp_path / 'k.db'}"
[web]
host = "127.0.0.1"
port = {port}
public_url = "http://127.0.0.1:{port}"
""")
    log = tmp_path / "run.log"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "bot", "-c", str(config), "run"], cwd=tmp_path,
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            if '"kocbot started"' in log.read_text() or proc.poll() is not None:
                break
            await asyncio.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        for _ in range(300):  # not proc.wait(): the emulator in this loop must keep answering
            if proc.poll() is not None:
                break
            await asyncio.sleep(0.1)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    started = [line for line in lines if line["event"] == "kocbot started"]
    assert len(started) == 1, text
    assert started[0]["listen"] == f"127.0.0.1:{port}"
    assert started[0]["public_url"] == f"http://127.0.0.1:{port}"
    assert started[0]["database"] == f"sqlite:///{tmp_path / 'k.db'}"
    assert "setup plugin" not in text and "Context impl" not in text and "Traceback" not in text
    # The emulator's token is not a real-looking one: no loopback warning.
    assert "cannot open links" not in text


def test_polling_with_a_loopback_public_url_and_a_real_token_warns(tmp_path: Path) -> None:
    closed = free_port()
    config = tmp_path / "k.toml"
    token = "1234567890:" + "A" * 35
    config.write_text(f'[telegram]\ntoken = "{token}"\nbase_url = "http://127.0.0.1:{closed}/bot"\n'
                      f'[database]\nurl = "sqlite:///{tmp_path / "k.db"}"\n'
                      '[web]\npublic_url = "http://127.0.0.1:8080"\n')
    result = kocbot("run", "-c", str(config), cwd=tmp_path, env={"HOME": os.environ.get("HOME", "/")})
    lines = result.stderr.strip().splitlines()
    warning = json.loads(lines[0])
    assert (warning["level"], warning["event"]) == (
        "warning", "web.public_url is http://127.0.0.1:8080: members' phones cannot open links there; "
                   "set it to the address where the web server is reachable from the internet")
    # ...and then Telegram (here: nothing listening) is unreachable: one line, no traceback.
    assert result.returncode == 3
    assert lines[-1].startswith("kocbot: cannot reach the Telegram Bot API")
    assert "Traceback" not in result.stderr and token not in result.stderr
