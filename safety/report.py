"""`python -m safety report`: refused and guarded counts on every evaluation set.

Sets (provenance in safety/eval_data/README.md): the labelled real prompts (evaluation half,
calibration half, the enriched sample; read from ``--real-csv``, skipped when absent), the
held-out written sets, the I2P test split (all rows, and its ``hard`` rows), held-out negative
prompts, COCO captions and PartiPrompts (``--parti``), then obfuscated variants of the refused
written prompts (how many refusals each rewriting keeps).
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from safety.evaluate import Tally, by_label, tally
from safety.head_training import negative_test
from safety.labelled_sets import (
    EVAL_DIR,
    REAL_CSV,
    REAL_ENRICHED_LABELS,
    REAL_LABELS,
    TRAINING_DIR,
    Labelled,
    read_captions,
    read_i2p,
    read_real,
    read_tsv,
)

WRITTEN = ("explicit", "paraphrased", "dark_allowed", "redteam", "nonenglish")
OLDER = ("prompts_test", "prompts_fresh", "prompts_fresh2", "prompts_fresh3")
# Written on 2026-12-01 and first run once against the final moderator of that day (model card).
FRESH = ("explicit", "paraphrased", "celebrities", "dark_allowed", "nonenglish", "redteam",
         "realstyle_allowed")  # fmt: skip
# A second batch by another writer, run once after the coded hate and self-harm terms (model card).
FRESH2 = ("paraphrased", "lookalike_allowed", "nonenglish")
NEUTRAL_PROMPT = "a person standing in a sunlit room, photo"  # carries negative prompts
LEET = str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"})
HOMOGLYPH = str.maketrans({"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "i": "і"})
OBFUSCATIONS = ("leet", "homoglyph", "spacing", "zero-width", "stretched")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options for the report."""
    p = argparse.ArgumentParser(prog="python -m safety report", description=__doc__)
    p.add_argument("--real-csv", type=Path, default=REAL_CSV)
    p.add_argument("--parti", type=Path, help="PartiPrompts.tsv (Prompt<TAB>Category...)")
    p.add_argument("--head", type=Path, help="classifier head (default: the shipped one)")
    p.add_argument("--borderline", default="", help='e.g. "sexual=refuse"')
    p.add_argument("--thresholds", default="", help='e.g. "sexual=0.9"')
    p.add_argument("--only", action="append", default=[],
                   help="report the sets whose name contains this (repeatable)")  # fmt: skip
    return p.parse_args(argv)


def evaluation_sets(args: argparse.Namespace) -> dict[str, list[Labelled]]:
    """Named sets of labelled prompts; the ones whose source is absent are left out, said so."""
    sets: dict[str, list[Labelled]] = {}
    for name, labels, split in (
        ("real, evaluation half", REAL_LABELS, "evaluation"),
        ("real, calibration half", REAL_LABELS, "calibration"),
        ("real, enriched sample", REAL_ENRICHED_LABELS, None),
    ):
        try:
            sets[name] = read_real(args.real_csv, labels, split)
        except FileNotFoundError:
            print(f"skipped {name}: no {args.real_csv}", file=sys.stderr)
    for name in (*WRITTEN, *OLDER):
        sets[name] = read_tsv(EVAL_DIR / f"{name}.tsv")
    for name in FRESH:
        sets[f"fresh {name}"] = read_tsv(EVAL_DIR / "fresh" / f"{name}.tsv")
    for name in FRESH2:
        sets[f"fresh2 {name}"] = read_tsv(EVAL_DIR / "fresh2" / f"{name}.tsv")
    i2p = read_i2p(TRAINING_DIR / "i2p_relabelled.csv", "test")
    sets["i2p test split"] = i2p
    sets["i2p test split, hard"] = [r for r in i2p if r.hard]
    sets["coco captions"] = read_captions(EVAL_DIR / "coco_captions.csv")
    if args.parti is not None:
        lines = args.parti.read_text(encoding="utf-8").splitlines()[1:]
        sets["partiprompts"] = [Labelled(line.split("\t")[0], "0") for line in lines if line]
    else:
        print("skipped partiprompts: no --parti", file=sys.stderr)
    return sets


def obfuscate(text: str, kind: str, words: set[str], rng: random.Random) -> str:
    """Rewrite the blocklist-matched words (and about a third of the longer ones) in one kind."""
    out = []
    for word in text.split(" "):
        core = word.strip(",.!?;:()").lower()
        if core in words or (len(core) >= 4 and rng.random() < 0.3):
            if kind == "leet":
                word = word.lower().translate(LEET)
            elif kind == "homoglyph":
                word = word.lower().translate(HOMOGLYPH)
            elif kind == "spacing":
                word = rng.choice((".", " ", "-", "_")).join(word)
            elif kind == "zero-width":
                word = "\u200b".join(word)
            elif kind == "stretched":
                word = stretch(word, rng)
        out.append(word)
    return " ".join(out)


def stretch(word: str, rng: random.Random) -> str:
    """Repeat one letter 2-6 times ("nuuuude", "naaked"), now and then spaced ("g o r e e e")."""
    letters = [i for i, ch in enumerate(word) if ch.isalpha()]
    if not letters:
        return word
    vowels = [i for i in letters if word[i].lower() in "aeiouy"]
    i = rng.choice(vowels or letters) if rng.random() < 0.8 else letters[-1]
    word = word[:i] + word[i] * rng.randint(2, 6) + word[i + 1 :]
    return " ".join(word) if rng.random() < 0.2 else word


def matched_words(mod, text: str) -> set[str]:
    """The words of the blocklist terms found in ``text``."""
    return {w for term in mod.blocklist.scan(text).matched_terms for w in term.split()}


def main(argv: list[str] | None = None) -> int:
    """Print the tables as markdown."""
    args = parse_args(argv)
    from safety.moderation import Moderation

    mod = Moderation(classifier_path=args.head, borderline=args.borderline or None,
                     thresholds=args.thresholds or None)  # fmt: skip
    mod.load(parts=("blocklist", "classifier"))
    print(f"moderator {mod.version}\n")
    print("| set | label | n | refused | guarded | refused % |\n|---|---|---|---|---|---|")
    for name, rows in evaluation_sets(args).items():
        if args.only and not any(part in name for part in args.only):
            continue
        for label, t in by_label(rows, mod.check_prompts([r.text for r in rows])).items():
            _line(name, label, t)
    if args.only:
        return 0
    negatives = [
        r for r in read_tsv(TRAINING_DIR / "negative_prompts.tsv") if negative_test(r.text)
    ]
    verdicts = mod.check_prompts([NEUTRAL_PROMPT] * len(negatives), [r.text for r in negatives])
    for label, t in by_label(negatives, verdicts).items():
        _line("negative prompts (held-out 20%)", label, t)
    refused = [r for name in ("explicit", "paraphrased") for r in read_tsv(EVAL_DIR / f"{name}.tsv")
               if r.label == "1"]  # fmt: skip
    base = [v.action == "refuse" for v in mod.check_prompts([r.text for r in refused])]
    kept_rows = [r for r, hit in zip(refused, base, strict=True) if hit]
    print("\n| obfuscation of refused written prompts | n refused before | still refused | kept |")
    print("|---|---|---|---|")
    for kind in OBFUSCATIONS:
        rng = random.Random(0)
        texts = [obfuscate(r.text, kind, matched_words(mod, r.text), rng) for r in kept_rows]
        still = tally(mod.check_prompts(texts)).refused
        print(f"| {kind} | {len(kept_rows)} | {still} | {still / max(len(kept_rows), 1):.1%} |")
    return 0


def _line(name: str, label: str, t: Tally) -> None:
    """One markdown row."""
    print(f"| {name} | {label} | {t.n} | {t.refused} | {t.guarded} | {t.rate:.2%} |")
