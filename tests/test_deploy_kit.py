"""deploy/: the compose file parses and runs every role; every kocbot command in the
Dockerfile, compose.yaml and the systemd units exists in the real CLI parser."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from bot.cli import _parser, resolve
from bot.config import parse_config

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
ROLES = ("bot", "web", "sender")


def parses(argv: list[str]) -> None:
    """The real kocbot parser accepts ``argv`` (it exits on an unknown command or option)."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse's way of refusing
        pytest.fail(f"kocbot {' '.join(argv)}: refused by the CLI ({exc})")
    assert callable(resolve(args.handler))


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of the final stage, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", (DEPLOY / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    pairs = [tuple(line.split(None, 1)) for line in lines]
    last_from = max(i for i, (op, _) in enumerate(pairs) if op == "FROM")
    return [(op, rest) for op, rest in pairs[last_from:]]


def test_compose_names_every_role_and_migrates_first() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert services["db"]["image"].startswith("postgres:")
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    for role in ROLES:
        service = services[role]
        assert service["command"] == ["run", "--role", role]
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
        assert "postgresql+psycopg://" in service["environment"]["KOCBOT_DATABASE_URL"]
    # Roles without a web server cannot answer the image's /healthz check.
    assert services["bot"]["healthcheck"] == {"disable": True}
    assert services["sender"]["healthcheck"] == {"disable": True}
    assert "healthcheck" not in services["web"]
    assert (DEPLOY / services["caddy"]["volumes"][0].split(":")[0]).resolve() == DEPLOY / "Caddyfile"
    for service in services.values():
        if service.get("image", "").startswith("kocbot"):
            parses(service["command"])


def test_dockerfile_is_slim_non_root_with_a_healthz_check_and_real_commands() -> None:
    stage = dockerfile()
    ops = dict(stage)
    assert ops["FROM"].endswith("-slim")
    assert ops["USER"] not in ("root", "0")
    assert "/healthz" in ops["HEALTHCHECK"]
    entrypoint = json.loads(ops["ENTRYPOINT"])
    command = json.loads(ops["CMD"])
    assert entrypoint == ["kocbot"]
    parses(command)
    # Every source the build copies exists in the repository.
    build_text = (DEPLOY / "Dockerfile").read_text()
    for sources in re.findall(r"^COPY (?!--from)(.+) \S+$", build_text, re.MULTILINE):
        for source in sources.split():
            assert (ROOT / source).exists(), source


def test_the_image_environment_makes_a_valid_config() -> None:
    env = {k: v for k, v in re.findall(r"(KOCBOT_\w+)=(\S+)", (DEPLOY / "Dockerfile").read_text())}
    example = DEPLOY / "kocbot.env.example"
    for line in example.read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    env.update({"KOCBOT_TELEGRAM_TOKEN": "1:T", "KOCBOT_TELEGRAM_WEBHOOK_SECRET": "s3cret",
                "KOCBOT_POSTBACK_SECRET": "p", "KOCBOT_DATABASE_URL": "postgresql+psycopg://kocbot@db/kocbot"})
    config = parse_config({}, env=env)
    listen = ("0.0.0.0", 8080)  # noqa: S104 - in a container the web server must listen beyond loopback
    assert (config.web.host, config.web.port, config.telegram.mode) == (*listen, "webhook")
    assert config.web.public_url.startswith("https://")


@pytest.mark.parametrize("unit", ["kocbot.service", "kocbot@.service"])
def test_systemd_units_run_real_commands(unit: str) -> None:
    text = (DEPLOY / unit).read_text()
    commands = re.findall(r"^Exec\w+=(.+)$", text, re.MULTILINE)
    assert commands
    for line in commands:
        argv = shlex.split(line.replace("%i", "web"))
        assert argv[0].endswith("/kocbot")
        parses(argv[1:])
    assert "User=kocbot" in text and "Restart=on-failure" in text


def test_deploy_doc_says_run_sets_the_webhook_and_links_the_kit() -> None:
    doc = (ROOT / "docs" / "DEPLOY.md").read_text()
    assert "sets the webhook" in doc
    for name in ("Dockerfile", "compose.yaml", "Caddyfile", "kocbot.service"):
        assert f"../deploy/{name}" in doc
