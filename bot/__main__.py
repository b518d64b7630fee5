"""``python -m bot`` is the same as the ``kocbot`` command."""

import sys

from bot.cli import main

if __name__ == "__main__":  # not when a spawned child (bot/web/click_writer.py) imports it
    sys.exit(main())
