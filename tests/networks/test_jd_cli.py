"""``kocbot networks check jd``: the credentials and the API, one line each, as a process."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.networks.test_jd_pollers import real_time_fake  # noqa: F401 - a fixture
from tests.support.fake_jd import FakeJd


async def check(tmp_path: Path, jd: str) -> tuple[int, str]:
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/k.db"\n[networks.jd]\n{jd}\n',
                      encoding="utf-8")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "networks", "check", "jd", "-c", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode or 0, out.decode()


async def test_check_lines(real_time_fake: FakeJd, tmp_path: Path) -> None:  # noqa: F811
    fake = real_time_fake
    good = f'app_key = "{fake.app_key}"\napp_secret = "{fake.app_secret}"\nunion_id = "1000001"\n' \
           f'api_url = "{fake.url}"'
    code, out = await check(tmp_path, good)
    assert code == 0 and out.splitlines() == [
        "credentials: ok: app_key test…, union_id 1000001", f"API: ok: {fake.url}: order rows answer"]

    code, out = await check(tmp_path, good.replace(fake.app_secret, "not-the-secret"))
    assert code == 1 and out.splitlines()[0] == \
        "credentials: FAILED: JD gateway error 12: Invalid Signature"
    assert "not-the-secret" not in out

    code, out = await check(tmp_path, good.replace(f'app_key = "{fake.app_key}"', 'app_key = ""'))
    assert code == 1 and out.strip() == "credentials: FAILED: missing networks.jd.app_key"

    code, out = await check(tmp_path, good.replace(fake.url, "http://127.0.0.1:9/routerjson"))
    lines = out.splitlines()
    assert code == 1 and lines[0].startswith("credentials: ok:") and "not verified" in lines[0]
    assert lines[1] == "API: FAILED: http://127.0.0.1:9/routerjson: JD gateway unreachable: ConnectError"
