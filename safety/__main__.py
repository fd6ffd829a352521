"""Entry point for ``python -m safety``."""

from __future__ import annotations

import sys

from safety.cli import main

if __name__ == "__main__":
    sys.exit(main())
