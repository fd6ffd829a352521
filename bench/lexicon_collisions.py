"""Ordinary words that the language lists' terms and the request rules' words would match.

Usage (wordfreq is not a project dependency; install it in a throwaway venv):
    python3 -m venv /tmp/wf && /tmp/wf/bin/pip install wordfreq
    PYTHONPATH=/tmp/wf/lib/python3.11/site-packages .venv/bin/python bench/lexicon_collisions.py

Each term of ``data/languages/<code>.tsv`` and each rule word of ``data/rule_words.tsv`` is
compiled into a lexicon of its own file; every word among the top ``--top`` of wordfreq's list
for English and the eight listed languages is normalised as a prompt would be and looked up
(folded form, prefix, inflections the stemming accepts). Prints ``file<TAB>term<TAB>mode<TAB>
labels<TAB>severity<TAB>word language<TAB>rank<TAB>word`` per hit, for reading: most hits
are the unsafe word itself.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from safety.blocklist import CATEGORIES, load_terms  # noqa: E402
from safety.lexicon import Lexicon  # noqa: E402
from safety.normalize import canonical_phrase  # noqa: E402
from safety.rules import load_rule_words  # noqa: E402

DATA = ROOT / "safety" / "data"
WORD_LANGUAGES = ("en", "de", "fr", "es", "it", "pt", "pl", "ru", "tr")


def lexicons() -> dict[str, Lexicon]:
    """One lexicon per language list, and one of the rule words (no allowlist)."""
    kinds = (*CATEGORIES, "minor", "suggestive")
    files = sorted((DATA / "languages").glob("*.tsv"))
    out = {f.stem: Lexicon(load_terms(f, kinds)) for f in files}
    out["rule_words"] = Lexicon(load_rule_words(DATA / "rule_words.tsv"))
    return out


def main() -> int:
    """Print every (term, ordinary word) pair the lexicons match."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--top", type=int, default=50_000, help="words per language (by frequency)")
    args = p.parse_args()
    from wordfreq import top_n_list

    compiled = lexicons()
    for language in WORD_LANGUAGES:
        for rank, word in enumerate(top_n_list(language, args.top), 1):
            tokens = canonical_phrase(word).split()
            if len(tokens) != 1:
                continue
            for name, lexicon in compiled.items():
                for term in lexicon._word_hits(tokens[0]):
                    labels = ",".join(term.labels)
                    row = (name, term.phrase, term.mode or "word", labels, term.severity)
                    print("\t".join((*row, language, str(rank), word)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
