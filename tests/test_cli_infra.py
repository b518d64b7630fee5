"""Infrastructure failures answer in one line that names the fix, never with a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.support.flow import feed_csv
from tests.test_cli import kocbot

SECRET_PASSWORD = "pw-never-shown-9f3"


def one_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize("command", [("db", "upgrade"), ("groups",), ("products", "import", "feed.csv")])
def test_unwritable_sqlite_path(tmp_path: Path, command: tuple[str, ...]) -> None:
    (tmp_path / "feed.csv").write_bytes(feed_csv("acme,A1,T,https://s.example/1,1.00,2.00,,,,,,,,CNY"))
    (tmp_path / "a-file").write_text("not a folder")
    config = tmp_path / "k.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "a-file" / "k.db"}"\n')
    result = kocbot(*command, "-c", str(config), cwd=tmp_path)
    assert result.returncode == 3
    line = one_line(result.stderr)
    assert line.startswith("kocbot: cannot write the SQLite database (unable to open database file)")
    assert "exists and this user may write to it" in line


def test_postgresql_refusing_connections(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    config = tmp_path / "k.toml"
    config.write_text(f'[database]\nurl = "postgresql://kocbot:{SECRET_PASSWORD}@127.0.0.1:{port}/kocbot"\n')
    result = kocbot("db", "upgrade", "-c", str(config), cwd=tmp_path)
    assert result.returncode == 3
    line = one_line(result.stderr)
    assert line.startswith("kocbot: cannot connect to PostgreSQL (")
    assert line.endswith("): start the server or fix database.url")
    assert str(port) in line and SECRET_PASSWORD not in line


def test_missing_postgresql_driver_says_install_kocbot_postgres(tmp_path: Path) -> None:
    # A path entry whose sitecustomize hides psycopg, exactly as an install without the extra.
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(
        "import sys\n"
        "class _NoPsycopg:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('psycopg', 'psycopg2'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, _NoPsycopg())\n")
    config = tmp_path / "k.toml"
    config.write_text('[database]\nurl = "postgresql://kocbot@127.0.0.1:5432/kocbot"\n')
    result = kocbot("db", "upgrade", "-c", str(config), cwd=tmp_path,
                    env={"PYTHONPATH": f"{hide}:{Path.cwd()}"})
    assert result.returncode == 3
    assert one_line(result.stderr) == ("kocbot: the PostgreSQL driver is not installed: install "
                                       "kocbot[postgres] (pip install \"kocbot[postgres]\")")


def test_telegram_unreachable_at_run(tmp_path: Path) -> None:
    token = "1234567890:" + "B" * 35
    config = tmp_path / "k.toml"
    config.write_text(f'[telegram]\ntoken = "{token}"\nbase_url = "http://127.0.0.1:{free_port()}/bot"\n'
                      f'[database]\nurl = "sqlite:///{tmp_path / "k.db"}"\n'
                      '[web]\npublic_url = "https://bot.example.com"\n')
    result = kocbot("run", "-c", str(config), cwd=tmp_path)
    assert result.returncode == 3
    line = one_line(result.stderr)
    assert line.startswith("kocbot: cannot reach the Telegram Bot API (")
    assert line.endswith("check the network, a proxy, or telegram.base_url")
    assert token not in result.stderr


async def test_web_port_in_use_at_run(emulator, tmp_path: Path) -> None:
    import asyncio
    import socket
    import sys

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = tmp_path / "k.toml"
        config.write_text(f'[telegram]\ntoken = "{emulator.token}"\nbase_url = "{emulator.base_url}"\n'
                          f'[database]\nurl = "sqlite:///{tmp_path / "k.db"}"\n'
                          f'[web]\nport = {port}\npublic_url = "https://bot.example.com"\n')
        # Asynchronously: the emulator answers from this test's event loop.
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--role", "web", "-c", str(config), cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path.cwd())},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    stderr = err.decode()
    assert proc.returncode == 3, stderr
    lines = [line for line in stderr.splitlines() if not line.startswith("{")]
    assert "Traceback" not in stderr
    assert lines == [f"kocbot: 127.0.0.1:{port} is already in use: stop the other process, or change "
                     "web.port or metrics.port"]


def test_run_on_a_postgresql_schema_that_is_not_current(tmp_path: Path) -> None:
    import os
    import secrets

    from sqlalchemy import create_engine, make_url, text

    from bot.storage.db import normalize_url

    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        pytest.skip("TEST_DATABASE_URL is not set; PostgreSQL tests skipped")
    base = make_url(normalize_url(server))
    name = f"kocbot_unmigrated_{secrets.token_hex(4)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = base.set(database=name).render_as_string(hide_password=False)
        config = tmp_path / "k.toml"
        config.write_text(f'[telegram]\ntoken = "1:T"\nbase_url = "http://127.0.0.1:{free_port()}/bot"\n'
                          f'[database]\nurl = "{url}"\n')
        result = kocbot("run", "-c", str(config), cwd=tmp_path)
        assert result.returncode == 3
        assert one_line(result.stderr) == "kocbot: the database schema is not current: run kocbot db upgrade"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
