"""The example fine-tuning dataset: a colour the base never saw ("purple").

``python -m generation make-example-data --out DIR`` writes an imagefolder dataset (PNG files
plus ``metadata.jsonl``). A quarter of the images are ordinary base scenes, replayed so that
the adapter learns purple without forgetting the other colours. Some purple combinations stay
out of the dataset; the new-concept evaluation uses them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .shapes import NEW_COLOUR, POSITIONS, Scene, all_scenes, draw_scene, training_scenes

CONCEPT_HELD_OUT: tuple[tuple[str, str, str], ...] = (
    (NEW_COLOUR, "triangle", "gray"),
    (NEW_COLOUR, "circle", "yellow"),
    (NEW_COLOUR, "square", "white"),
    (NEW_COLOUR, "circle", "black"),
)


def concept_scenes() -> list[Scene]:
    """Purple scenes that go into the dataset."""
    return [
        s
        for s in all_scenes(colours=(NEW_COLOUR,))
        if (s.colour, s.shape, s.background) not in CONCEPT_HELD_OUT
    ]


def concept_eval_scenes() -> tuple[list[Scene], list[Scene]]:
    """(held-out purple scenes, a fixed sample of dataset purple scenes)."""
    held = []
    for i, (colour, shape, background) in enumerate(CONCEPT_HELD_OUT):
        held += [Scene(colour, shape, background, count) for count in (1, 2, 3)]
        held.append(Scene(colour, shape, background, 1, POSITIONS[i % len(POSITIONS)]))
    seen = concept_scenes()
    rng = np.random.default_rng(99)
    picks = rng.choice(len(seen), size=12, replace=False)
    return held, [seen[int(i)] for i in sorted(picks)]


def make_dataset(out: Path, size: int = 480, replay: float = 0.25, seed: int = 0) -> Path:
    """Draw the dataset into ``out``; returns the folder."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    purple, base = concept_scenes(), training_scenes()
    lines = []
    for i in range(size):
        pool = base if rng.random() < replay else purple
        scene = pool[int(rng.integers(len(pool)))]
        name = f"{i:04d}.png"
        draw_scene(scene, rng).save(out / name)
        lines.append(json.dumps({"file_name": name, "text": scene.caption}))
    (out / "metadata.jsonl").write_text("\n".join(lines) + "\n")
    return out


def main(argv: list[str] | None = None) -> int:
    """Write the example dataset."""
    p = argparse.ArgumentParser(prog="python -m generation make-example-data")
    p.add_argument("--out", default="instance/datasets/purple-shapes")
    p.add_argument("--size", type=int, default=480)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    folder = make_dataset(Path(args.out), args.size, seed=args.seed)
    print(f"wrote {args.size} images and metadata.jsonl to {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
