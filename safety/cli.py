"""`python -m safety check | evaluate | train | report | export-reviews`."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from safety.errors import ModerationUnavailable
from safety.verdict import Verdict
from textencoder import PRECISIONS

CHUNK = 1024  # prompts per classifier pass: big enough to batch, small enough to stream
THREADS_HELP = "torch threads for the encoder (default: one per core)"
PRECISION_HELP = "encoder precision: auto (bf16 where the CPU has it), fp32 or bf16"
BORDERLINE_HELP = 'per category, what a borderline prompt gets: "sexual=guard,hate=refuse"'
THRESHOLDS_HELP = 'refuse-threshold overrides per category: "sexual=0.9,violence=0.95"'


def build_parser() -> argparse.ArgumentParser:
    """Sub-commands and their options."""
    parser = argparse.ArgumentParser(prog="python -m safety", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="moderate prompts: arguments, or one per stdin line")
    check.add_argument("prompts", nargs="*", help="prompts to check (default: read stdin)")
    check.add_argument("--negative", default="", help="a negative prompt sent with each prompt")
    check.add_argument("--show-terms", action="store_true", help="include matched terms")
    evaluate = sub.add_parser("evaluate", help="refused/guarded per label on a labelled file")
    evaluate.add_argument("file", type=Path, help="label<TAB>category<TAB>text (.tsv) or CSV "
                          "with columns text,label[,category]")  # fmt: skip
    for command in (check, evaluate):
        command.add_argument("--threads", type=int, default=0, help=THREADS_HELP)
        command.add_argument("--precision", choices=PRECISIONS, default="auto", help=PRECISION_HELP)
        command.add_argument("--borderline", default="", help=BORDERLINE_HELP)
        command.add_argument("--thresholds", default="", help=THRESHOLDS_HELP)
    reviews = sub.add_parser(
        "export-reviews", help="admin review marks as training rows (label<TAB>category<TAB>text)"
    )
    reviews.add_argument(
        "--database-url",
        default=os.environ.get("SAFECANVAS_DATABASE_URL"),
        help="SQLAlchemy URL of the app's database (default: $SAFECANVAS_DATABASE_URL)",
    )
    reviews.add_argument("--out", type=Path, help="TSV to write (default: stdout)")
    sub.add_parser("train", help="train the classifier head (see --help)", add_help=False)
    sub.add_parser("report", help="figures on every evaluation set (see --help)", add_help=False)
    return parser


def verdict_json(prompt: str, verdict: Verdict, show_terms: bool = False) -> str:
    """One JSON line for the check command."""
    record = {
        "prompt": prompt,
        "action": verdict.action,
        "allowed": verdict.allowed,
        "stage": verdict.stage,
        "categories": list(verdict.categories),
        "scores": dict(verdict.scores),
        "reason": verdict.reason,
        "language": verdict.language,
        "moderator_version": verdict.moderator_version,
    }
    if verdict.safeguards is not None:
        record["safeguards"] = {
            "negative_prompt": verdict.safeguards.negative_prompt,
            "image_threshold": verdict.safeguards.image_threshold,
        }
    if show_terms:
        record["matched_terms"] = list(verdict.matched_terms)
    return json.dumps(record, ensure_ascii=False)


def loaded_moderation(args: argparse.Namespace):
    """A Moderation with the prompt stages loaded, configured from the common options."""
    threads = getattr(args, "threads", 0)
    if threads < 0:
        raise ValueError("--threads must be 0 (one per core) or more")
    if threads:
        import torch

        torch.set_num_threads(threads)
    from safety.moderation import Moderation

    moderation = Moderation(
        encoder_precision=getattr(args, "precision", "auto"),
        borderline=getattr(args, "borderline", "") or None,
        thresholds=getattr(args, "thresholds", "") or None,
    )
    moderation.load(parts=("blocklist", "classifier"))
    return moderation


def run_check(args: argparse.Namespace) -> int:
    """Write one JSON object per prompt, in input order."""
    moderation = loaded_moderation(args)
    if args.prompts:
        source = args.prompts
    else:
        source = (line.rstrip("\r\n") for line in sys.stdin)
    chunk: list[str] = []
    for prompt in source:
        chunk.append(prompt)
        if len(chunk) >= CHUNK:
            _write_chunk(moderation, chunk, args)
            chunk = []
    _write_chunk(moderation, chunk, args)
    return 0


def _write_chunk(moderation, prompts: list[str], args: argparse.Namespace) -> None:
    """Moderate one chunk (duplicates once) and write its lines."""
    if not prompts:
        return
    unique = list(dict.fromkeys(prompts))
    found = moderation.check_prompts(unique, [args.negative] * len(unique))
    verdicts = dict(zip(unique, found, strict=True))
    lines = (verdict_json(p, verdicts[p], args.show_terms) + "\n" for p in prompts)
    sys.stdout.write("".join(lines))
    sys.stdout.flush()


def run_evaluate(args: argparse.Namespace) -> int:
    """Print the evaluation table for a labelled file."""
    from safety.evaluate import read_rows, report

    rows = read_rows(args.file)
    moderation = loaded_moderation(args)
    started = time.perf_counter()
    verdicts = moderation.check_prompts([r.text for r in rows])
    elapsed = time.perf_counter() - started
    print(report(rows, verdicts))
    print(f"{len(rows)} prompts in {elapsed:.1f} s; moderator {moderation.version}")
    return 0


def run_export_reviews(args: argparse.Namespace) -> int:
    """Write the reviewed refusals as training rows; say what was left out on stderr."""
    from sqlalchemy.exc import SQLAlchemyError

    from safety.reviews import export_reviews

    if not args.database_url:
        raise ValueError("give --database-url or set SAFECANVAS_DATABASE_URL")
    try:
        if args.out is None:
            summary = export_reviews(args.database_url, sys.stdout)
        else:
            with args.out.open("w", encoding="utf-8") as out:
                summary = export_reviews(args.database_url, out)
    except SQLAlchemyError as exc:  # unreachable server, no refusals table, bad URL
        raise OSError(f"cannot read the review marks: {exc}") from exc
    skipped = ", ".join(f"{n} {why}" for why, n in sorted(summary.skipped.items())) or "none"
    print(
        f"exported {summary.refused} refused, {summary.borderline} borderline and "
        f"{summary.allowed} allowed; left out: {skipped}",
        file=sys.stderr,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Dispatch; a moderator that cannot load or fails exits with status 3."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv[:1] == ["train"]:
            from safety.head_training import main as train_main

            return train_main(argv[1:])
        if argv[:1] == ["report"]:
            from safety.report import main as report_main

            return report_main(argv[1:])
        args = build_parser().parse_args(argv)
        commands = {"check": run_check, "evaluate": run_evaluate}
        return commands.get(args.command, run_export_reviews)(args)
    except ModerationUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
