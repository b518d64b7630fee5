"""The kocbot command line, run as a real process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.flow import feed_csv


def kocbot(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path.cwd()), **(env or {})}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=env)


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "k.db"}"\n[card]\nlocale = "en"\n')
    return path


def test_bad_config_stops_with_one_line_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[web]\nport = -1\n")
    result = kocbot("db", "upgrade", "-c", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["kocbot: config key web.port: expected 1-65535, got -1"]


def test_bad_env_value_names_the_variable(tmp_path: Path) -> None:
    result = kocbot("db", "upgrade", cwd=tmp_path, env={"KOCBOT_SCHEDULE_REPEAT_WINDOW_DAYS": "soon"})
    assert result.returncode == 2
    assert "KOCBOT_SCHEDULE_REPEAT_WINDOW_DAYS" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_run_without_token_says_so(tmp_path: Path) -> None:
    result = kocbot("run", "-c", str(write_config(tmp_path)), cwd=tmp_path)
    assert result.returncode == 2
    assert "telegram.token" in result.stderr


def test_products_import_reports_bad_rows_by_line(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    feed = tmp_path / "feed.csv"
    feed.write_bytes(feed_csv(
        "acme,A1,Good one,https://shop.example/a1,10.00,12.00,10%,home,,,,,,CNY",
        "acme,A2,Bad price,https://shop.example/a2,ten,12.00,10%,home,,,,,,CNY",
        "acme,A3,Good too,https://shop.example/a3,5.50,6.00,0.05,home,,,,,,CNY",
    ))
    result = kocbot("products", "import", str(feed), "-c", str(config), cwd=tmp_path)
    assert result.returncode == 1, result.stderr  # some rows were bad
    assert "feed.csv:3: price" in result.stderr
    assert result.stdout.strip() == "3 rows: 2 new, 0 changed, 0 unchanged, 1 bad"
    strict = kocbot("products", "import", str(feed), "--strict", "-c", str(config), cwd=tmp_path)
    assert strict.returncode == 2  # the file was refused
    assert "nothing imported" in strict.stdout


def test_card_preview_and_report(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    feed = tmp_path / "feed.csv"
    feed.write_bytes(feed_csv("acme,A1,保温杯 Thermos,https://shop.example/a1,39.00,59.00,10%,home,,,,,,CNY"))
    assert kocbot("products", "import", str(feed), "-c", str(config), cwd=tmp_path).returncode == 0
    out = tmp_path / "card.png"
    result = kocbot("card", "preview", "A1", "-o", str(out), "-c", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    missing = kocbot("card", "preview", "NOPE", "-c", str(config), cwd=tmp_path)
    assert missing.returncode == 1 and "NOPE" in missing.stderr
    report = kocbot("report", "--since", "7d", "-c", str(config), cwd=tmp_path)
    assert report.returncode == 0 and "groups 0" in report.stdout
    bad = kocbot("report", "--since", "yesterday", "-c", str(config), cwd=tmp_path)
    assert bad.returncode == 2 and "--since" in bad.stderr
