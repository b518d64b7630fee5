"""``python -m bot`` is the same as the ``kocbot`` command."""

import sys

from bot.cli import main

if __name__ == "__main__":  # running it, not importing it
    sys.exit(main())
