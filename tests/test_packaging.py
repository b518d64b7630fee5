"""A non-editable install works on its own: the wheel carries the emulator's Bot API facts,
the templates and the migrations, and `kocbot demo` runs from it with no warning."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_wheel_carries_its_data_and_the_demo_runs_from_it(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    # Offline: hatchling comes from the test extras, not from a build environment download.
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                            "--no-index", "-q", "-w", str(wheels), str(REPO)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    wheel = next(wheels.glob("kocbot-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "bot/emulator/bot_api.json" in names
    assert "bot/_templates/en/caption.html.j2" in names
    assert any(n.startswith("bot/_migrations/versions/") for n in names)
    assert not any(n.startswith(("tests/", "scripts/")) for n in names)

    site = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q",
                                "--target", str(site), str(wheel)],
                               capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr
    run = tmp_path / "run"
    run.mkdir()
    # The installed copy comes first on the path; the dependencies come from this environment.
    code = ("import sys, bot; assert bot.__file__.startswith(sys.argv[1]), bot.__file__; "
            "from bot.cli import main; sys.exit(main(['demo', '--out', 'out']))")
    demo = subprocess.run([sys.executable, "-c", code, str(site)], cwd=run, capture_output=True, text=True,
                          timeout=180, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site)})
    assert demo.returncode == 0, demo.stderr
    assert demo.stderr == ""
    assert "💬 小潘 in 宝妈好物群 → /report all" in demo.stdout
    assert (run / "out" / "demo.db").is_file()
