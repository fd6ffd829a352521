"""A precompiled phrase index matched over canonical tokens, with inflections and allowlisting."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from safety.normalize import canonical_phrase, destretch, is_known_word, views

# Suffixes stripped to find a stem: nudes, stabbed, stabbing, raping, killers.
_SUFFIXES = ("ings", "ing", "ers", "er", "ies", "es", "ed", "s", "d", "y")
_MIN_STEM = 3
_MIN_INSIDE = 4  # shortest term looked for inside spelled-out letters ("cum" is in "document")


@dataclass(frozen=True)
class Term:
    """One entry of a word list: the phrase as written, its canonical tokens and its labels."""

    phrase: str
    tokens: tuple[str, ...]
    labels: tuple[str, ...]
    mode: str = ""  # "" = word with inflections, "exact" = word only, "substring" = inside
    # words, "prefix" = any word that starts with it (nackt: nackte, Nacktfoto)
    severity: str = "refuse"  # or "guard": borderline, a signal rather than a refusal


@lru_cache(maxsize=65536)
def stems(token: str) -> frozenset[str]:
    """The token, its de-stretched forms and the stems its inflection suffixes suggest."""
    out: set[str] = set()
    for form in destretch(token):
        out.add(form)
        for suffix in _SUFFIXES:
            if form.endswith(suffix) and len(form) - len(suffix) >= _MIN_STEM:
                stem = form[: -len(suffix)]
                out.update((stem, stem + "e"))
                if suffix == "ies":
                    out.add(stem + "y")
                if len(stem) > _MIN_STEM and stem[-1] == stem[-2]:
                    out.add(stem[:-1])  # stabbing -> stab
    return frozenset(out)


def make_term(
    phrase: str, labels: Iterable[str], mode: str = "", severity: str = "refuse"
) -> Term | None:
    """Build a term from its written phrase; None when the phrase normalises to nothing."""
    tokens = tuple(canonical_phrase(phrase).split())
    if not tokens:
        return None
    return Term(phrase, tokens, tuple(labels), mode, severity)


class Lexicon:
    """Index of terms; ``find`` returns the terms present in a text."""

    def __init__(
        self, terms: Iterable[Term], allow: Iterable[str] = (), keep: Iterable[str] = ()
    ) -> None:
        """``keep``: labels whose terms an allowlisted phrase never drops (context that keeps a
        prompt allowed: "prevention" in "suicide prevention")."""
        self.keep = frozenset(keep)
        self.words: dict[str, list[Term]] = {}
        self.exact: dict[str, list[Term]] = {}
        self.prefixes: dict[str, list[Term]] = {}
        self.phrases: dict[tuple[str, ...], list[Term]] = {}
        self.first_tokens: set[str] = set()
        self.max_len = 1
        substrings: list[Term] = []
        for term in terms:
            if term.mode == "substring":
                substrings.append(term)
            elif term.mode == "prefix" and len(term.tokens) == 1:
                self.prefixes.setdefault(term.tokens[0], []).append(term)
            elif len(term.tokens) == 1:
                target = self.exact if term.mode == "exact" else self.words
                target.setdefault(term.tokens[0], []).append(term)
            else:
                self.phrases.setdefault(term.tokens, []).append(term)
                self.first_tokens.add(term.tokens[0])
                self.max_len = max(self.max_len, len(term.tokens))
                glued = "".join(term.tokens)
                if len(glued) >= 6:  # "gang bang" is also written "gangbang"
                    self.words.setdefault(glued, []).append(term)
        self._prefix_lengths = sorted({len(p) for p in self.prefixes})
        self._by_substring = {"".join(t.tokens): t for t in substrings}
        pattern = "|".join(sorted(map(re.escape, self._by_substring), key=len, reverse=True))
        self._substring_re = re.compile(pattern) if pattern else None
        self.allow = [tuple(canonical_phrase(p).split()) for p in allow]
        self.allow = [a for a in self.allow if a]
        self._allow_by_first: dict[str, list[tuple[str, ...]]] = {}
        for phrase in self.allow:
            self._allow_by_first.setdefault(phrase[0], []).append(phrase)
        self._prefixes = {key[:n] for key in self.phrases for n in range(1, len(key))}
        self._inside: dict[str, list[Term]] = {}
        for key, found in [*self.words.items(), *self._by_substring_lists(substrings)]:
            if len(key) >= _MIN_INSIDE:
                self._inside.setdefault(key, []).extend(found)
        pattern = "|".join(sorted(map(re.escape, self._inside), key=len, reverse=True))
        self._inside_re = re.compile(pattern) if pattern else None
        self._allow_words = {a[0] for a in self.allow if len(a) == 1}
        self._word_hits = lru_cache(maxsize=65536)(self._word_hits_uncached)

    @staticmethod
    def _by_substring_lists(terms: list[Term]) -> list[tuple[str, list[Term]]]:
        """Substring-mode terms keyed by their glued tokens."""
        return [("".join(t.tokens), [t]) for t in terms]

    def _inside_spelled_out(self, words: list[str]) -> list[Term]:
        """Terms found inside runs of spelled-out letters ("g i r l t o p l e s s")."""
        if self._inside_re is None:
            return []
        hits: list[Term] = []
        for word in words:
            if word in self._allow_words or is_known_word(word):
                continue  # "s c u n t h o r p e" is the town, spelled out
            for form in destretch(word):
                for m in self._inside_re.finditer(form):
                    hits.extend(self._inside[m.group()])
        return hits

    def _allowed_spans(self, tokens: list[str]) -> list[tuple[int, int]]:
        """Token spans covered by an allowlisted phrase."""
        spans: list[tuple[int, int]] = []
        for i, token in enumerate(tokens):
            for phrase in self._allow_by_first.get(token, ()):
                if tuple(tokens[i : i + len(phrase)]) == phrase:
                    spans.append((i, i + len(phrase)))
        return spans

    def _find_in(self, tokens: list[str]) -> list[tuple[Term, int, int]]:
        """Matches in one token list as (term, start, end)."""
        found: list[tuple[Term, int, int]] = []
        for i, token in enumerate(tokens):
            found.extend((term, i, i + 1) for term in self._word_hits(token))
            if not destretch(token).isdisjoint(self.first_tokens):
                found.extend(self._phrases_at(tokens, i))
        return found

    def _word_hits_uncached(self, token: str) -> tuple[Term, ...]:
        """Single-word terms matching one token (memoised: prompts repeat their words)."""
        hits: list[Term] = []
        for form in destretch(token):
            hits.extend(self.exact.get(form, ()))
            for length in self._prefix_lengths:
                if length > len(form):
                    break
                hits.extend(self.prefixes.get(form[:length], ()))
            if self._substring_re is not None:
                hits.extend(
                    self._by_substring[m.group()] for m in self._substring_re.finditer(form)
                )
        for form in stems(token):
            hits.extend(self.words.get(form, ()))
        return tuple(hits)

    def _phrases_at(self, tokens: list[str], i: int) -> list[tuple[Term, int, int]]:
        """Multi-word terms starting at token i (the last word may be inflected)."""
        found = []
        heads: list[tuple[str, ...]] = [(form,) for form in destretch(tokens[i])]
        heads = [h for h in heads if h in self._prefixes]
        for n in range(2, min(self.max_len, len(tokens) - i) + 1):
            if not heads:
                break
            last = tokens[i + n - 1]
            for head in heads:
                for form in stems(last):
                    for term in self.phrases.get((*head, form), ()):
                        found.append((term, i, i + n))
            heads = [(*h, f) for h in heads for f in destretch(last) if (*h, f) in self._prefixes]
        return found

    def find(self, text: str) -> list[Term]:
        """Terms present in ``text`` after normalisation, minus allowlisted spans."""
        hits: dict[Term, Term] = {}  # by term: one phrase may sit in several lists
        found = views(text)
        for tokens in (found.spaced, found.joined):
            matches = self._find_in(tokens)
            spans = self._allowed_spans(tokens) if matches and self.allow else []
            for term, start, end in matches:
                if self.keep.isdisjoint(term.labels) and any(
                    a <= start and end <= b for a, b in spans
                ):
                    continue
                hits.setdefault(term, term)
        for term in self._inside_spelled_out(found.spelled_out):
            hits.setdefault(term, term)
        return list(hits.values())
