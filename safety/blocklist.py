"""The blocklist moderator: curated terms matched after normalisation, with an allowlist.

The English lists always run; a prompt detected in another listed language (safety/language.py)
is also matched against that language's list (data/languages/<code>.tsv).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from safety import rules
from safety.errors import ModerationUnavailable
from safety.language import ENGLISH, LanguageDetector, LanguageGuess
from safety.lexicon import Lexicon, Term, make_term
from safety.normalize import canonical_phrase, strip_invisibles
from safety.rules import load_people, load_rule_words
from safety.verdict import CATEGORIES, Verdict, order_categories, refusal_reason

DATA_DIR = Path(__file__).with_name("data")
LIST_FILES = ("blocklist.tsv", "context.tsv", "allowlist.txt", "coded_terms.tsv")
RULE_FILES = ("public_figures.tsv", "rule_words.tsv")  # read by safety/rules.py
MODES = ("", "exact", "substring", "prefix")
SEVERITIES = ("refuse", "guard")
CONTEXT_KINDS = ("minor", "suggestive", "clothing")
# Rule words an allowlisted phrase never drops: a critical cue still keeps a combination allowed,
# and a person cue inside a trap still counts with a name ("<actor> torse nu" is guarded).
KEEP = ("critical", "person_cue")
_DIGIT = re.compile(r"\d")
# "12 year old", "15yo", and the same in the listed languages ("14 Jahre alt", "14-jährige",
# "13 ans", "14 años", "13 anni", "14 anos", "14 lat", "14 лет", "14 yaşında").
_AGE_WORDS = (
    r"(?:years?|yrs?)\s*-?\s*old", "yo", "y/o", r"jahre\s+alt", r"jahrig\w*", "ans", "anos",
    "anni", "lat", "latk\\w*", "letni\\w*", "лет", "года", r"yas\w*",
)  # fmt: skip
_AGE = re.compile(
    r"\b(\d{1,2})\s*-?\s*(?:" + "|".join(strip_invisibles(w) for w in _AGE_WORDS) + r")(?!\w)"
)

# Triple parentheses around a word ("(((them)))") mark Jewish people in antisemitic posts; prompt
# syntax uses them for emphasis ("(((masterpiece)))"), so only the listed words count (``echo``).
_ECHO = re.compile(r"\(\(\(\s*([^()]{1,40}?)\s*\)\)\)")


@dataclass(frozen=True)
class BlocklistResult:
    """What the blocklist found in one text.

    ``categories`` (from ``refuse`` terms) mean a refusal. ``borderline_categories`` come from
    ``guard`` terms in categories not refused: what the policy calls borderline (lingerie,
    "covered in blood"), for a graded verdict to generate with safeguards and log for review.
    """

    categories: tuple[str, ...]
    matched_terms: tuple[str, ...]
    mentions_minor: bool
    suggestive: bool
    borderline_categories: tuple[str, ...] = ()
    borderline_terms: tuple[str, ...] = ()
    detected: LanguageGuess = ENGLISH  # the prompt's language, and whose list was added

    @property
    def language(self) -> str:
        """The detected language code ("en", "de", ...)."""
        return self.detected.language

    @property
    def classifier_competent(self) -> bool:
        """False when the prompt is confidently not English: the classifier cannot read it."""
        return self.detected.classifier_competent

    @property
    def refused(self) -> bool:
        """True when a refuse term (or a minor in a sexual context) was found."""
        return bool(self.categories)

    @property
    def borderline(self) -> bool:
        """True when only guard terms were found: allowed by this stage, with safeguards."""
        return not self.categories and bool(self.borderline_categories)


def _rows(path: Path, min_cols: int) -> list[tuple[int, list[str]]]:
    """Non-comment tab-separated rows with their line numbers."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModerationUnavailable(f"blocklist file unreadable: {path.name}: {exc}") from exc
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) < min_cols or not cols[0].strip():
            raise ModerationUnavailable(f"blocklist file corrupt: {path.name} line {number}")
        rows.append((number, cols))
    return rows


def load_terms(path: Path, kinds: tuple[str, ...] = CATEGORIES) -> list[Term]:
    """Parse ``term<TAB>categories[<TAB>mode[<TAB>source[<TAB>severity]]]``; raise on any
    malformed line. Severity: empty or ``refuse``, or ``guard`` (borderline). ``kinds``: the
    labels allowed in the categories column (language lists also take minor and suggestive)."""
    terms = []
    for number, cols in _rows(path, 2):
        labels = tuple(c.strip() for c in cols[1].split(",") if c.strip())
        mode = cols[2].strip() if len(cols) > 2 else ""
        severity = (cols[4].strip() if len(cols) > 4 else "") or "refuse"
        bad_labels = not labels or any(c not in kinds for c in labels)
        if bad_labels or mode not in MODES or severity not in SEVERITIES:
            raise ModerationUnavailable(f"blocklist file corrupt: {path.name} line {number}")
        term = make_term(cols[0], labels, mode, severity)
        if term is not None:
            terms.append(term)
    if not terms:
        raise ModerationUnavailable(f"blocklist file empty: {path.name}")
    return terms


class Blocklist:
    """Load the word lists once, then check many texts."""

    def __init__(self, data_dir: str | Path | None = None) -> None:
        self.data_dir = Path(data_dir) if data_dir else DATA_DIR
        self.version = "not loaded"
        self.rules_version = "not loaded"
        self.detector = LanguageDetector()
        self._lexicon: Lexicon | None = None
        self._languages: dict[str, Lexicon] = {}
        self._soft: frozenset[tuple[str, ...]] = frozenset()
        self._echo: frozenset[str] = frozenset()

    def load(self) -> None:
        """Read and compile the lists, the request rules' words and the language lists."""
        paths = [self.data_dir / n for n in LIST_FILES]
        rule_paths = [self.data_dir / n for n in RULE_FILES]
        for path in [*paths, *rule_paths]:
            if not path.is_file():
                raise ModerationUnavailable(f"blocklist file missing: {path}")
        allow = [line.strip() for _, line in _allow_lines(paths[2])]
        context = []
        for number, cols in _rows(paths[1], 2):
            kind = cols[1].strip()
            if kind not in CONTEXT_KINDS:
                raise ModerationUnavailable(f"blocklist file corrupt: context.tsv line {number}")
            term = make_term(cols[0], (kind,))
            if term is not None:
                context.append(term)
        rule_terms = [*load_people(rule_paths[0]), *load_rule_words(rule_paths[1])]
        soft = rules.soft_phrases(rule_terms)
        echo = frozenset(" ".join(t.tokens) for t in rule_terms if "echo" in t.labels)
        rule_terms = [t for t in rule_terms if "echo" not in t.labels]
        listed = [*load_terms(paths[0]), *load_terms(paths[3])]
        lexicon = Lexicon([*listed, *context, *rule_terms], allow, keep=KEEP)
        language_files = sorted((self.data_dir / "languages").glob("*.tsv"))
        kinds = (*CATEGORIES, "minor", "suggestive")
        languages = {f.stem: Lexicon(load_terms(f, kinds), allow) for f in language_files}
        if languages:
            self.detector.load()  # at once if Moderation.load started it earlier
        files = [*paths, *language_files]
        digest = hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()
        self._lexicon, self._languages, self._soft = lexicon, languages, soft
        self._echo = echo
        self.version = f"blocklist-{digest[:8]}"
        self.rules_version = rules.version(rule_paths)

    @property
    def languages(self) -> tuple[str, ...]:
        """Codes of the languages with a list of their own, besides English."""
        return tuple(sorted(self._languages))

    @property
    def loaded(self) -> bool:
        """True once load() has succeeded."""
        return self._lexicon is not None

    def scan(self, text: str) -> BlocklistResult:
        """Find listed terms and minor/suggestive context in ``text``."""
        if self._lexicon is None:
            raise ModerationUnavailable("blocklist not loaded")
        detected = self.detector.detect(text) if self._languages else ENGLISH
        found = self._lexicon.find(text)
        for language in detected.routed:
            if language in self._languages:
                found += self._languages[language].find(text)
        ruled = rules.judge(found, self._soft)
        found = [t for t in found if t.phrase not in ruled.dropped]
        hits = [t for t in found if t.labels[0] in CATEGORIES and t.severity == "refuse"]
        guards = [t for t in found if t.labels[0] in CATEGORIES and t.severity == "guard"]
        context = {label for t in found for label in t.labels if label in CONTEXT_KINDS}
        minor = "minor" in context or _mentions_young_age(text)
        echoed = self._echoes(text)
        categories = {label for t in hits for label in t.labels} | ruled.refuse
        categories |= {"hate"} if echoed else set()
        borderline = ({label for t in guards for label in t.labels} | ruled.guard) - categories
        suggestive = "suggestive" in context or "sexual" in borderline
        if minor and ("sexual" in categories or suggestive):
            categories.add("sexual/minors")
            borderline.discard("sexual")
        return BlocklistResult(
            categories=order_categories(categories),
            matched_terms=tuple(
                sorted({t.phrase for t in hits} | set(ruled.refuse_evidence) | set(echoed))
            ),
            mentions_minor=minor,
            suggestive=suggestive,
            borderline_categories=order_categories(borderline - categories),
            borderline_terms=tuple(sorted({t.phrase for t in guards} | set(ruled.guard_evidence))),
            detected=detected,
        )

    def _echoes(self, text: str) -> list[str]:
        """Listed words in triple parentheses ("(((them)))"), as written in the text."""
        if "(((" not in text:
            return []
        found = _ECHO.finditer(strip_invisibles(text))
        return [m.group() for m in found if canonical_phrase(m.group(1)) in self._echo]

    def removes_clothing(self, negative_prompt: str) -> bool:
        """True when a negative prompt asks the model to leave out clothing (steers to nudity)."""
        if self._lexicon is None:
            raise ModerationUnavailable("blocklist not loaded")
        return any("clothing" in t.labels for t in self._lexicon.find(negative_prompt))

    def check(self, text: str) -> Verdict:
        """Verdict of the blocklist stage alone."""
        found = self.scan(text)
        if not found.categories:
            return Verdict(True, "blocklist", moderator_version=self.version)
        return refusal_verdict(found, self.version)


def refusal_verdict(found: BlocklistResult, moderator_version: str) -> Verdict:
    """The refusal a blocklist hit becomes; scores are 1.0 for every matched category."""
    return Verdict(
        allowed=False,
        stage="blocklist",
        categories=found.categories,
        scores={c: 1.0 for c in found.categories},
        matched_terms=found.matched_terms,
        reason=refusal_reason("prompt", found.categories),
        moderator_version=moderator_version,
        language=found.language,
    )


def _allow_lines(path: Path) -> list[tuple[int, str]]:
    """Allowlist phrases with line numbers."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModerationUnavailable(f"blocklist file unreadable: {path.name}: {exc}") from exc
    return [(n, s) for n, s in enumerate(text.splitlines(), 1) if s.strip() and s[0] != "#"]


def _mentions_young_age(text: str) -> bool:
    """True for "12 year old", "15yo", "9-year-old": an age under 18."""
    if _DIGIT.search(text) is None:
        return False
    return any(int(m.group(1)) < 18 for m in _AGE.finditer(strip_invisibles(text)))
