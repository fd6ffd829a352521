"""``python -m generation versions list | show NAME | activate NAME | rollback | add-lora``."""

from __future__ import annotations

import argparse
import json
import sys


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options of ``versions``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--model-dir", default=argparse.SUPPRESS)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    p = argparse.ArgumentParser(prog="python -m generation versions", parents=[common])
    sub = p.add_subparsers(dest="action", required=True)
    sub.add_parser("list", parents=[common], help="every version, the active one marked")
    sub.add_parser("show", parents=[common], help="one version's details").add_argument("name")
    sub.add_parser("activate", parents=[common], help="make a version active").add_argument("name")
    sub.add_parser("rollback", parents=[common], help="re-activate the previous version")
    add = sub.add_parser("add-lora", parents=[common], help="register a LoRA safetensors file")
    add.add_argument("file", help="LoRA weights (.safetensors: diffusers, kohya or peft layout)")
    add.add_argument("--name", required=True, help="name of the new adapter version")
    add.add_argument(
        "--base",
        required=True,
        help="what it adapts: a version name, or the checkpoint exactly as SAFECANVAS_MODEL says",
    )
    args = p.parse_args(argv)
    args.model_dir = getattr(args, "model_dir", "instance/models")
    args.json = getattr(args, "json", False)
    return args


def _headline(evaluation: dict, kind: str = "base") -> str:
    """Short evaluation figures, e.g. 'colour 98% shape 95% count 93%'."""
    order = ("new-concept", "base") if kind == "adapter" else ("base", "new-concept")
    for suite in order:
        summary = evaluation.get(suite, {}).get("summary", {}).get("overall")
        if summary:
            return (
                " ".join(
                    f"{k} {100 * summary[k]:.0f}%"
                    for k in ("colour", "shape", "count")
                    if summary.get(k) is not None
                )
                + f" ({suite})"
            )
    return "-"


def main(argv: list[str] | None = None) -> int:
    """Run one versions action and print the outcome."""
    args = parse_args(argv)
    from .versions import Registry

    registry = Registry(args.model_dir)
    if args.action == "list":
        active = registry.active
        versions = registry.list()
        if args.json:
            print(
                json.dumps([dict(v.to_dict(), active=v.name == active) for v in versions], indent=1)
            )
            return 0
        print(f"{'':2}{'name':28} {'kind':8} {'parent':20} {'created':26} {'hash':20} evaluation")
        for v in versions:
            mark = "*" if v.name == active else " "
            print(
                f"{mark:2}{v.name:28} {v.kind:8} {v.parent or '-':20} {v.created:26} "
                f"{v.content_hash[:19]:20} {_headline(v.evaluation, v.kind)}"
            )
        return 0
    if args.action == "show":
        print(
            json.dumps(
                dict(registry.get(args.name).to_dict(), active=registry.active == args.name),
                indent=1,
            )
        )
        return 0
    if args.action == "add-lora":
        from pathlib import Path

        version = registry.add_adapter(Path(args.file), args.name, args.base)
        print(f"added adapter version {version.name} on {version.parent}")
        return 0
    version = registry.activate(args.name) if args.action == "activate" else registry.rollback()
    print(f"active version: {version.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
