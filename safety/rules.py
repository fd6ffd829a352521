"""Request rules: combinations of what the blocklist found that the policy judges as a whole.

The blocklist finds words; some requests are only unsafe, or only safe, in combination:

* **a named real person with a sexual cue** ("<actress> in lingerie", "<singer>, very hot") is
  sexualised depiction of a real person: refused as ``harassment`` (guarded for a milder cue
  such as a bikini). The person is a name from ``data/public_figures.tsv``; a name alone, or a
  name in an ordinary scene, changes nothing.
* **a soft sexual word said of an animal or a thing** ("a sexy sports car", "a fox, au naturel")
  is not a request for nudity: that word's refusal is dropped when the prompt names an animal
  or object and no person.
* **coded hate and self-harm wording that is only unsafe in combination** (``COMBINATIONS``): an
  ambiguous code with a Nazi cue ("88" with a swastika), a perpetrator's name or insignia with
  praise ("glorious SS totenkopf banner"), a Jewish group word with an antisemitic trope
  ("jewish octopus around the globe"), a suicide method with a self-directed or glorifying cue
  or a second method ("a bottle of pills, the sleep I won't wake from"); a cue of severity
  ``guard`` ("himself", "letting go": a man shaving himself with a razor blade) only guards. A
  critical or educational cue (museum, memorial, documentary, prevention, rescue) keeps them
  allowed, as does a method or insignia alone ("a noose in a western film").

Every lookup is a set or dict lookup over the terms the blocklist's lexicon already found (the
names and rule words are compiled into the same lexicon), so the rules cost nothing per name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from safety.errors import ModerationUnavailable
from safety.lexicon import Term, make_term, stems

PERSON = "person"  # label of a public figure's name
RULE_KINDS = ("person_cue", "soft", "thing", "human", "hate_code", "hate_icon", "praise", "group",
              "trope", "method", "self_cue", "critical", "echo")  # fmt: skip
# A term of the first kind with one of the second (a different phrase) refuses the category, or
# only guards it when the pair needs a guard-severity word; a ``critical`` cue stops both.
COMBINATIONS = (
    ("hate_code", ("hate_icon",), "hate"),
    ("hate_icon", ("praise",), "hate"),
    ("group", ("trope",), "hate"),
    ("method", ("self_cue", "method"), "self-harm"),
)
PERSON_KINDS = ("actor", "musician", "politician", "athlete", "media")
# Bumped when the rules' logic changes (the data files are hashed with it into the version).
REVISION = "4"


@dataclass(frozen=True)
class RuleOutcome:
    """What the rules add to, or take from, the blocklist's own finding."""

    refuse: frozenset[str] = frozenset()
    guard: frozenset[str] = frozenset()
    dropped: frozenset[str] = frozenset()  # phrases whose refusal no longer counts
    evidence: tuple[str, ...] = ()

    @property
    def refuse_evidence(self) -> tuple[str, ...]:
        """The evidence, when the rules refuse (for the verdict's matched terms)."""
        return self.evidence if self.refuse else ()

    @property
    def guard_evidence(self) -> tuple[str, ...]:
        """The evidence, when the rules only guard (for the borderline terms)."""
        return () if self.refuse else self.evidence


NOTHING = RuleOutcome()


def _lines(path: Path) -> list[tuple[int, list[str]]]:
    """Tab-separated data rows with their line numbers; raise when unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModerationUnavailable(f"rules file unreadable: {path.name}: {exc}") from exc
    return [
        (n, line.split("\t"))
        for n, line in enumerate(text.splitlines(), 1)
        if line.strip() and not line.startswith("#")
    ]


def load_people(path: Path) -> list[Term]:
    """Names of ``name<TAB>kind`` rows as person terms (whole names, no inflection)."""
    terms = []
    for number, cols in _lines(path):
        if len(cols) < 2 or cols[1].strip() not in PERSON_KINDS or not cols[0].strip():
            raise ModerationUnavailable(f"rules file corrupt: {path.name} line {number}")
        term = make_term(cols[0], (PERSON,), "exact")
        if term is not None:
            terms.append(term)
    return terms


def load_rule_words(path: Path) -> list[Term]:
    """``term<TAB>kind<TAB>severity`` rows (see data/rule_words.tsv) as terms."""
    terms = []
    for number, cols in _lines(path):
        kind = cols[1].strip() if len(cols) > 1 else ""
        severity = (cols[2].strip() if len(cols) > 2 else "") or "refuse"
        if kind not in RULE_KINDS or severity not in ("refuse", "guard"):
            raise ModerationUnavailable(f"rules file corrupt: {path.name} line {number}")
        term = make_term(cols[0], (kind,), "", severity)
        if term is not None:
            terms.append(term)
    return terms


def version(paths: Iterable[Path]) -> str:
    """``rules-<hash6>`` of the logic's revision and the rules' data files."""
    digest = hashlib.sha256(REVISION.encode())
    for path in paths:
        digest.update(path.read_bytes())
    return f"rules-{digest.hexdigest()[:6]}"


def soft_phrases(terms: Iterable[Term]) -> frozenset[tuple[str, ...]]:
    """The canonical tokens of the ``soft`` rule words (matched against listed terms)."""
    return frozenset(t.tokens for t in terms if "soft" in t.labels)


def judge(found: Sequence[Term], soft: frozenset[tuple[str, ...]] = frozenset()) -> RuleOutcome:
    """Apply the rules to the terms the lexicons found in one prompt.

    ``soft``: listed terms (any language's list) whose refusal is dropped when said of things.
    """
    labels = {label for term in found for label in term.labels}
    combined = _combinations(found, labels)
    if PERSON not in labels and "thing" not in labels:
        return combined
    people = sorted({t.phrase for t in found if PERSON in t.labels})
    if people:
        return _merge(_person_with_cue(found, people), combined)
    return _merge(_soft_words_of_things(found, labels, soft), combined)


def _merge(first: RuleOutcome, second: RuleOutcome) -> RuleOutcome:
    """Both outcomes together (evidence of a refusing one first)."""
    if second is NOTHING:
        return first
    if first is NOTHING:
        return second
    ordered = (first, second) if first.refuse or not second.refuse else (second, first)
    return RuleOutcome(
        refuse=first.refuse | second.refuse,
        guard=first.guard | second.guard,
        dropped=first.dropped | second.dropped,
        evidence=ordered[0].evidence + ordered[1].evidence,
    )


def _combinations(found: Sequence[Term], labels: set[str]) -> RuleOutcome:
    """Coded hate and self-harm that only refuse together (``COMBINATIONS``)."""
    if "critical" in labels:
        return NOTHING
    refuse: set[str] = set()
    guard: set[str] = set()
    evidence: list[str] = []
    for first, seconds, category in COMBINATIONS:
        if first not in labels or labels.isdisjoint(seconds):
            continue
        heads = sorted((t for t in found if first in t.labels), key=_by_phrase)
        cues = sorted((t for t in found if not set(t.labels).isdisjoint(seconds)), key=_by_phrase)
        pairs = [(h, c) for h in heads for c in cues if not _same_words(h, c)]
        # A guard-severity word ("himself": shaving himself with a razor blade) only guards.
        strong = [p for p in pairs if p[0].severity == p[1].severity == "refuse"]
        if pairs:
            head, cue = (strong or pairs)[0]
            (refuse if strong else guard).add(category)
            evidence.append(f"{category}: {head.phrase} + {cue.phrase}")
    if not (refuse or guard):
        return NOTHING
    return RuleOutcome(
        refuse=frozenset(refuse), guard=frozenset(guard - refuse), evidence=tuple(evidence)
    )


def _by_phrase(term: Term) -> str:
    return term.phrase


def _same_words(a: Term, b: Term) -> bool:
    """Whether two terms are one phrase in two inflections ("razor blade", "razor blades")."""
    return len(a.tokens) == len(b.tokens) and all(
        stems(x) & stems(y) for x, y in zip(a.tokens, b.tokens, strict=True)
    )


def _person_with_cue(found: Sequence[Term], people: list[str]) -> RuleOutcome:
    """A named person with a sexual cue: harassment, refused or guarded by the cue."""
    refuse_cues = sorted(
        {
            t.phrase
            for t in found
            if t.severity == "refuse" and ("person_cue" in t.labels or "sexual" in t.labels)
        }
    )
    guard_cues = sorted({t.phrase for t in found if "person_cue" in t.labels} - set(refuse_cues))
    cues = refuse_cues or guard_cues
    if not cues:
        return NOTHING
    evidence = (f"person: {people[0]} + {cues[0]}",)
    if refuse_cues:
        return RuleOutcome(refuse=frozenset({"harassment"}), evidence=evidence)
    return RuleOutcome(guard=frozenset({"harassment"}), evidence=evidence)


def _soft_words_of_things(
    found: Sequence[Term], labels: set[str], soft: frozenset[tuple[str, ...]]
) -> RuleOutcome:
    """Drop the refusal of soft words ("sexy", "nackt", "nu") when they describe an animal or
    object only ("a sexy sports car", "nackte Bäume", "un mur nu")."""
    if "human" in labels or "minor" in labels:
        return NOTHING
    dropped = {t.phrase for t in found if t.tokens in soft or "soft" in t.labels}
    return RuleOutcome(dropped=frozenset(dropped)) if dropped else NOTHING
