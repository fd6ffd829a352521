"""``python -m generation <command>``: train-base, finetune, evaluate, generate, versions, ...."""

from __future__ import annotations

import sys

COMMANDS = {
    "train-base": "generation.train_base",
    "finetune": "generation.finetune",
    "evaluate": "generation.evaluate",
    "generate": "generation.generate_cli",
    "versions": "generation.versions_cli",
    "make-example-data": "generation.example_data",
    "export-feedback": "generation.feedback_export",
}


def main(argv: list[str] | None = None) -> int:
    """Dispatch to the sub-command's ``main``."""
    import importlib

    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        print("usage: python -m generation {" + ",".join(COMMANDS) + "} ...", file=sys.stderr)
        return 2
    from .errors import GenerationError

    module = importlib.import_module(COMMANDS[argv[0]])
    try:
        return module.main(argv[1:])
    except GenerationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
