"""``python -m generation export-feedback``: the images users liked, as a fine-tuning dataset.

Reads the web app's database with SQLAlchemy Core (generation/ never imports the web layer):
every image with enough thumbs up and no thumbs down and no report from anyone, read from the
image folder or the database's ``image_blobs``, is written with its prompt as an imagefolder
dataset (``metadata.jsonl`` with ``file_name`` and ``text``) that ``python -m generation
finetune --data`` reads unchanged. A dataset card (``README.md``) says which versions and dates
the images came from and what was left out.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

from .errors import GenerationError

DB_KEY_PREFIX = "db:"  # an image the web app keeps in its image_blobs table


@dataclass
class Candidate:
    """An image somebody gave feedback on, with the feedback summed over requesters."""

    image_id: str
    prompt: str
    version: str
    seed: int
    key: str
    created: datetime
    guarded: bool
    likes: int = 0
    dislikes: int = 0
    reports: int = 0
    last_vote: datetime | None = None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options of ``export-feedback``."""
    env = os.environ
    instance = Path(env.get("SAFECANVAS_INSTANCE_PATH", "instance"))
    p = argparse.ArgumentParser(prog="python -m generation export-feedback")
    p.add_argument("--out", required=True, help="new (or empty) folder for the dataset")
    p.add_argument(
        "--database-url",
        default=env.get("SAFECANVAS_DATABASE_URL") or f"sqlite:///{instance / 'safecanvas.db'}",
        help="SQLAlchemy URL of the app's database (default: $SAFECANVAS_DATABASE_URL)",
    )
    p.add_argument(
        "--image-dir",
        default=env.get("SAFECANVAS_IMAGE_DIR") or str(instance / "images"),
        help="the app's image folder (default: $SAFECANVAS_IMAGE_DIR); unused for images "
        "stored in the database",
    )
    p.add_argument("--version", action="append", help="only images of this version (repeat)")
    p.add_argument("--since", type=_day, help="only images made on or after this date (UTC)")
    p.add_argument("--until", type=_day, help="only images made on or before this date (UTC)")
    p.add_argument("--min-likes", type=int, default=1, help="thumbs up an image needs")
    p.add_argument(
        "--include-guarded",
        action="store_true",
        help="also images of prompts generated with safeguards (borderline; left out by default)",
    )
    return p.parse_args(argv)


def _day(raw: str) -> date:
    """An ISO date argument."""
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not an ISO date (YYYY-MM-DD)") from None


def _utc(value) -> datetime:
    """A timestamp column's value as aware UTC (SQLite hands back naive ones)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def _json(value) -> dict:
    """A JSON column's value (some drivers hand back the JSON text)."""
    if isinstance(value, str):
        value = json.loads(value or "null")
    return value or {}


def read_candidates(engine) -> list[Candidate]:
    """Every image with feedback, and its votes and reports summed over requesters."""
    from sqlalchemy import MetaData, Table, select

    meta = MetaData()
    images = Table("images", meta, autoload_with=engine)
    jobs = Table("jobs", meta, autoload_with=engine)
    feedback = Table("image_feedback", meta, autoload_with=engine)
    query = (
        select(
            images.c.id,
            images.c.prompt,
            images.c.model_version,
            images.c.seed,
            images.c.path,
            images.c.created_at,
            jobs.c.moderation,
            feedback.c.vote,
            feedback.c.report_id,
            feedback.c.updated_at,
        )
        .join(feedback, feedback.c.image_id == images.c.id)
        .join(jobs, jobs.c.id == images.c.job_id)
        .order_by(images.c.created_at, images.c.id)
    )
    found: dict[str, Candidate] = {}
    with engine.connect() as conn:
        for row in conn.execute(query):
            image = found.get(row.id)
            if image is None:
                guarded = _json(row.moderation).get("action") == "guard"
                image = found[row.id] = Candidate(
                    row.id,
                    row.prompt,
                    row.model_version,
                    int(row.seed),
                    row.path,
                    _utc(row.created_at),
                    guarded,
                )
            image.likes += row.vote == 1
            image.dislikes += row.vote == -1
            image.reports += row.report_id is not None
            if row.vote == 1:
                voted = _utc(row.updated_at)
                image.last_vote = max(image.last_vote or voted, voted)
    return list(found.values())


def choose(images: list[Candidate], args: argparse.Namespace) -> tuple[list[Candidate], Counter]:
    """The images to export, and why each of the others was left out."""
    chosen, left_out = [], Counter()
    for image in images:
        day = image.created.date()
        if args.version and image.version not in args.version:
            left_out["other version"] += 1
        elif (args.since and day < args.since) or (args.until and day > args.until):
            left_out["outside the dates"] += 1
        elif image.reports:
            left_out["reported"] += 1
        elif image.dislikes:
            left_out["disliked"] += 1
        elif image.guarded and not args.include_guarded:
            left_out["guarded prompt"] += 1
        elif image.likes < args.min_likes:
            left_out["not liked enough"] += 1
        else:
            chosen.append(image)
    return chosen, left_out


def read_png(engine, image_dir: Path, key: str) -> bytes | None:
    """The stored PNG of an image key, or None when it is gone."""
    if key.startswith(DB_KEY_PREFIX):
        from sqlalchemy import MetaData, Table, select

        blobs = Table("image_blobs", MetaData(), autoload_with=engine)
        with engine.connect() as conn:
            query = select(blobs.c.data).where(blobs.c.image_id == key[len(DB_KEY_PREFIX) :])
            return conn.scalar(query)
    root = image_dir.resolve()
    path = (root / key).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return path.read_bytes()


def check_args(args: argparse.Namespace) -> Path:
    """Reject bad arguments before reading anything; returns the output folder."""
    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise GenerationError(f"--out {out}: choose a new or empty folder")
    if args.min_likes < 1:
        raise GenerationError("--min-likes must be at least 1")
    if args.since and args.until and args.since > args.until:
        raise GenerationError("--since is after --until")
    return out


def main(argv: list[str] | None = None) -> int:
    """Export, print a JSON summary, and say how to fine-tune on the result."""
    args = parse_args(argv)
    out = check_args(args)
    from sqlalchemy import create_engine
    from sqlalchemy.exc import SQLAlchemyError

    from .feedback_card import write_card

    engine = create_engine(args.database_url)
    try:
        # 1. Who liked what, summed per image; 2. which images qualify.
        chosen, left_out = choose(read_candidates(engine), args)
        # 3. Their PNGs and prompts, as imagefolder files.
        rows, written = [], []
        for image in chosen:
            png = read_png(engine, Path(args.image_dir), image.key)
            if png is None:
                left_out["image file missing"] += 1
                continue
            if not rows:
                out.mkdir(parents=True, exist_ok=True)
            name = f"{image.image_id}.png"
            (out / name).write_bytes(png)
            rows.append(metadata_row(name, image))
            written.append(image)
    except SQLAlchemyError as exc:
        raise GenerationError(f"cannot read the feedback from the database: {exc}") from exc
    finally:
        engine.dispose()
    if not written:
        raise GenerationError(f"no liked images to export (left out: {dict(left_out) or 'none'})")
    lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    (out / "metadata.jsonl").write_text(lines, encoding="utf-8")
    command = "python -m generation export-feedback " + shlex.join(
        argv if argv is not None else sys.argv[2:]
    )
    write_card(out, written, left_out, args, command)
    print(json.dumps({"images": len(written), "left_out": dict(left_out), "path": str(out)}))
    return 0


def metadata_row(name: str, image: Candidate) -> dict:
    """One line of metadata.jsonl: what finetune reads (file_name, text) and where it came from."""
    return {
        "file_name": name,
        "text": image.prompt,
        "image_id": image.image_id,
        "model_version": image.version,
        "seed": image.seed,
        "likes": image.likes,
        "created": image.created.isoformat(),
    }


if __name__ == "__main__":
    sys.exit(main())
