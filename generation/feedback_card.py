"""The dataset card (README.md) of an ``export-feedback`` dataset: where its images came from."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .feedback_export import Candidate


def _span(moments: list[datetime]) -> str:
    """'first to last' as UTC dates (one date when they agree)."""
    first, last = min(moments).date().isoformat(), max(moments).date().isoformat()
    return first if first == last else f"{first} to {last}"


def safe_url(url: str) -> str:
    """The database URL with its password hidden."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def version_table(images: list[Candidate]) -> str:
    """One Markdown row per model version: how many images, made when."""
    rows = []
    for version in sorted({i.version for i in images}):
        mine = [i for i in images if i.version == version]
        made = _span([i.created for i in mine])
        rows.append(f"| `{version}` | {len(mine)} | {sum(i.likes for i in mine)} | {made} |")
    return "\n".join(rows)


def write_card(
    folder: Path,
    images: list[Candidate],
    left_out: Counter,
    args: argparse.Namespace,
    command: str,
) -> None:
    """README.md with a Hugging Face dataset-card header, the sources and the selection."""
    versions = sorted({i.version for i in images})
    votes = [i.last_vote for i in images if i.last_vote is not None]
    skipped = ", ".join(f"{n} {why}" for why, n in sorted(left_out.items())) or "none"
    filters = [
        f"versions {', '.join(args.version)}" if args.version else "",
        f"made on or after {args.since}" if args.since else "",
        f"made on or before {args.until}" if args.until else "",
        "guarded prompts included" if args.include_guarded else "",
    ]
    version_lines = "\n".join(f"  - {json.dumps(v)}" for v in versions)  # valid YAML, any name
    text = f"""---
task_categories:
  - text-to-image
tags:
  - safecanvas
  - user-feedback
model_versions:
{version_lines}
---
# SafeCanvas feedback dataset

Images that users of a SafeCanvas server liked, with the prompts they were made from: each
has at least {args.min_likes} thumbs up and no thumbs down and no report from anyone. Images
of prompts generated with safeguards are {"included" if args.include_guarded else "left out"}.
The prompts were written by users: read them before sharing this dataset.

- Exported: {datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M")} UTC
- Command: `{command}`
- Database: `{safe_url(args.database_url)}`
- Images: {len(images)}, made {_span([i.created for i in images])} (UTC)
- Thumbs up given: {_span(votes) if votes else "(unknown)"} (UTC)
- Filters: {", ".join(f for f in filters if f) or "none"}
- Left out: {skipped}

## Model versions

| version | images | thumbs up | made (UTC) |
|---|---|---|---|
{version_table(images)}

## Files

`metadata.jsonl` has one line per image: `file_name` and `text` (the prompt), which is what
`python -m generation finetune --data {folder}` reads, and `image_id`, `model_version`,
`seed`, `likes` and `created` to trace each image back to the server.
"""
    (folder / "README.md").write_text(text, encoding="utf-8")
