"""Entry point for ``python -m safety``."""

from __future__ import annotations

import sys

from textencoder.runtime import sleep_idle_openmp_threads

sleep_idle_openmp_threads()  # before torch loads: see textencoder/runtime.py

from safety.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
