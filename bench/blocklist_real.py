"""The blocklist stage alone on labelled real prompts: refused / guarded / allowed per label.

Usage: python bench/blocklist_real.py --prompts real_prompts_dev.csv --labels 'labels/*.tsv'
The prompts file is the CSV (column ``text``) the labels are keyed on: one ``row<TAB>label
<TAB>category`` line per labelled row (row = 0-based data row, label 0 / 1 / B). Several label
files may be given as a glob; files whose name contains "enriched" (rows picked by keyword, so
not a random sample) are reported apart. Prints a table and writes JSON; never any prompt text.
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def read_labels(paths: list[str]) -> dict[str, dict[int, str]]:
    """Labels per sample ("random" or "enriched"): row -> 0 / 1 / B."""
    samples: dict[str, dict[int, str]] = {"random": {}, "enriched": {}}
    for path in paths:
        sample = "enriched" if "enriched" in Path(path).name else "random"
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            cols = line.split("\t")
            if len(cols) >= 2 and cols[0].isdigit() and cols[1] in ("0", "1", "B"):
                samples[sample][int(cols[0])] = cols[1]
    return samples


def main() -> int:
    """Scan the labelled rows with the shipped blocklist; print and write the counts."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--prompts", type=Path, required=True, help="e.g. real_prompts_dev.csv")
    p.add_argument("--labels", required=True, help="glob of label files")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "blocklist_real.json")
    args = p.parse_args()
    from safety.blocklist import Blocklist

    blocklist = Blocklist()
    blocklist.load()
    with args.prompts.open(encoding="utf-8", newline="") as f:
        texts = [row["text"] for row in csv.DictReader(f)]
    result: dict[str, dict] = {"blocklist_version": blocklist.version}
    print(f"{'sample':<10}{'label':<7}{'rows':>6}{'refused':>9}{'guarded':>9}{'refused %':>11}")
    for sample, labels in read_labels(sorted(glob.glob(args.labels))).items():
        for label in ("0", "1", "B"):
            rows = [r for r, lab in labels.items() if lab == label]
            scans = [blocklist.scan(texts[r]) for r in rows]
            refused = sum(s.refused for s in scans)
            guarded = sum(s.borderline for s in scans)
            share = 100 * refused / max(len(rows), 1)
            counts = {"rows": len(rows), "refused": refused, "guarded": guarded}
            result[f"{sample}_{label}"] = counts
            print(f"{sample:<10}{label:<7}{len(rows):>6}{refused:>9}{guarded:>9}{share:>10.2f}%")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
