"""Make bot/emulator/bot_api.json, the Bot API facts the emulator ships with.

Usage: python scripts/emulator_spec.py PATH/TO/bot-api-spec.json [--out FILE]

The input is the machine-readable Bot API spec (methods and types with their fields, as
published alongside Telegram's documentation). The output keeps only what the emulator checks:
method and type names, field names, types, required flags, a union's subtypes and a subtype's
fixed ``type`` value. Run it again when Telegram publishes a new Bot API version, and commit
the result.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run from a checkout without installing it

from bot.emulator.spec import DATA_FILE, dump_facts, facts_from_spec  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Read the spec given on the command line; write the facts file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", type=Path, help="bot-api-spec.json")
    parser.add_argument("--out", type=Path, default=REPO / "bot" / "emulator" / DATA_FILE,
                        help="where to write the facts (default: the packaged file)")
    args = parser.parse_args(argv)
    try:
        spec = json.loads(args.spec.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"emulator_spec: {args.spec}: {exc}", file=sys.stderr)
        return 2
    facts = facts_from_spec(spec)
    args.out.write_text(dump_facts(facts), encoding="utf-8")
    print(f"{args.out.name}: {facts['version']}, {len(facts['methods'])} methods, "
          f"{len(facts['types'])} types")
    return 0


if __name__ == "__main__":
    sys.exit(main())
