"""``python -m injector.emulator``: the emulator's command line (see :mod:`injector.emulator.cli`)."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
