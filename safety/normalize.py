"""Text normalisation that undoes the usual ways of hiding a word from a filter.

Two outputs serve two readers:

* :func:`match_views` gives canonical token lists for the blocklist, where look-alike letters,
  leetspeak, separators inside words, zero-width and combining characters are undone and
  ``l`` is folded into ``i`` (``1`` may stand for either).
* :func:`readable` gives de-obfuscated but still natural text for the sentence encoder.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

# Cyrillic and Greek letters that render like Latin ones (after casefold, so lower case only).
HOMOGLYPHS = str.maketrans(
    {
        # Cyrillic
        "а": "a", "в": "b", "г": "r", "д": "d", "е": "e", "ё": "e", "з": "3", "и": "u",
        "й": "u", "к": "k", "м": "m", "н": "h", "о": "o", "п": "n", "р": "p", "с": "c",
        "т": "t", "у": "y", "х": "x", "ц": "u", "ч": "4", "ш": "w", "щ": "w", "ь": "b",
        "ы": "bi", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w",
        "һ": "h", "ӏ": "l", "ҽ": "e", "ө": "o", "ү": "y", "ҳ": "x",
        # Greek
        "α": "a", "β": "b", "γ": "y", "δ": "d", "ε": "e", "ζ": "z", "η": "n", "θ": "o",
        "ι": "i", "κ": "k", "λ": "l", "μ": "u", "ν": "v", "ξ": "e", "ο": "o", "π": "n",
        "ρ": "p", "σ": "o", "ς": "c", "τ": "t", "υ": "u", "φ": "o", "χ": "x", "ψ": "w",
        "ω": "w", "ϲ": "c", "ϳ": "j",
        # Other Latin look-alikes that NFKC leaves alone
        "ı": "i", "ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ŧ": "t", "ɡ": "g", "ɑ": "a",
        "ǝ": "e", "ɩ": "i", "ß": "ss", "æ": "ae", "œ": "oe",
        # Small capitals
        "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ꜰ": "f", "ɢ": "g", "ʜ": "h", "ɪ": "i",
        "ᴊ": "j", "ᴋ": "k", "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ʀ": "r", "ꜱ": "s",
        "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ʏ": "y", "ᴢ": "z",
    }
)  # fmt: skip

# Leetspeak: only applied inside a token that also holds a letter ("s3x" yes, "2024" no).
# "1", "|" and "!" may stand for i or l: they become AMBIGUOUS_IL, which lookups expand to both.
AMBIGUOUS_IL = "\x01"
LEET = {
    "0": "o", "1": AMBIGUOUS_IL, "3": "e", "4": "a", "5": "s", "6": "g", "7": "t", "8": "b",
    "9": "g",
    "@": "a", "$": "s", "!": AMBIGUOUS_IL, "|": AMBIGUOUS_IL, "+": "t", "€": "e", "£": "l",
    "¡": "i",
}  # fmt: skip
_LEET_RUN = re.compile(r"[013456789@$!|+€£¡]")
# Tokens such as 4k, 8k, 3d, 35mm, 1920s, 16:9 are camera and format jargon, not leetspeak.
_JARGON = re.compile(r"^\d+(?:k|d|s|mm|cm|m|px|p|th|st|nd|rd|x|fps|hz|x\d+|:\d+)?$")

# Characters used to break a word apart ("n.u.d.e", "n-u-d-e", "n_u_d_e", "n*u*d*e").
SEPARATORS = "._-*~·•'’`^=:,/\\"
_SEP_CLASS = re.escape(SEPARATORS)
_SEP_INSIDE = re.compile(rf"(?<=\w)[{_SEP_CLASS}]+(?=\w)")
_SEP_ANY = re.compile(rf"[{_SEP_CLASS}]+")
_SPELLED_WITH_SEPARATORS = re.compile(rf"\b[a-z](?:([{_SEP_CLASS}])[a-z])(?:\1[a-z])+\b")
_SINGLE_LETTER_RUN = re.compile(r"(?<!\S)(?:[a-z](?:\s+|$)){3,}")
_LONG_LETTER_RUN = re.compile(r"(?<!\S)(?:[a-z](?:\s+|$)){6,}")
_NON_WORD = re.compile(r"[^\w\s\x01]+")
_SPACES = re.compile(r"\s+")
# Letters of any script: "голаяяя" is stretched as much as "nuuuude".
_L = r"[^\W\d_]"
_REPEATS = re.compile(rf"({_L})\1{{2,}}")
_WORD_WITH_RUN = re.compile(rf"\b{_L}*({_L})\1{_L}*\b")
# English hardly ever doubles a, i or u: "chiild", "skuull", "laady" are stretched ("bazaar"
# and "vacuum" are known words, left alone).
_RARE_DOUBLE = re.compile(r"\b[a-z]*(?:aa|ii|uu)[a-z]*\b")
# Words whose double letters are spelling though the encoder's vocabulary lacks them: read as
# written even in a prompt that stretches other words ("noose" is no "nose", "gagged" no "gaged").
SPELLED_DOUBLES = frozenset(
    """noose nooses gagged gagging boob boobs boobies nood noods peeping pegging gutting gutted
    ripper sagging petting matte latte leggings sparring stewardess giantess seeping rigging
    fogged napping ramming earring earrings gutter cctv naan oops bitte hallo notte sotto fille
    calle kann paar bett letto jenner addams carrey larsson visser ridder""".split()
)
_ASCII_CONTROLS = {c: None for c in [*range(0, 9), *range(11, 32), 127]}


def strip_invisibles(text: str) -> str:
    """NFKC, drop zero-width/format characters and combining marks, casefold."""
    if text.isascii():
        return text.translate(_ASCII_CONTROLS).lower()
    text = unicodedata.normalize("NFKC", text)
    text = "".join(
        ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cc") or ch in "\n\t"
    )
    text = unicodedata.normalize("NFD", text.casefold())
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Mn", "Me"))
    return unicodedata.normalize("NFC", text).translate(HOMOGLYPHS)


def _unleet_token(token: str) -> str:
    """Replace leet characters inside a token that mixes them with letters."""
    if _JARGON.match(token.strip(".,;:!?()[]\"'")) or not any(ch.isalpha() for ch in token):
        return token
    core = token.rstrip("!.,?;:")  # a trailing "!" is punctuation, not an "i"
    if not _LEET_RUN.search(core):
        return token
    return _LEET_RUN.sub(lambda m: LEET[m.group()], core) + token[len(core) :]


def unleet(text: str) -> str:
    """Undo leetspeak token by token, leaving numbers and camera jargon alone."""
    if not _LEET_RUN.search(text):
        return text
    return " ".join(_unleet_token(tok) for tok in text.split())


def _join_spelled_out(text: str, keep_article: bool = False) -> str:
    """Join runs of three or more single letters: "n u d e" becomes "nude".

    With ``keep_article`` a leading "a" or "i" of a longer run stays a word ("a n u d e" ->
    "a nude"); the other view joins it too, so "a n a l" is still read as one word there.
    """

    def join(m: re.Match) -> str:
        letters = m.group().split()
        if keep_article and len(letters) > 3 and letters[0] in ("a", "i"):
            return letters[0] + " " + "".join(letters[1:]) + " "
        return "".join(letters) + " "

    return _SINGLE_LETTER_RUN.sub(join, text)


def _tokens(text: str) -> list[str]:
    """Split on anything that is not a letter, digit or AMBIGUOUS_IL."""
    return _NON_WORD.sub(" ", text).replace("_", " ").split()


class MatchViews(NamedTuple):
    """Canonical tokens of one text, read the ways the blocklist matches."""

    spaced: list[str]  # separators read as spaces ("nude.sexy" -> nude, sexy; "n.u.d.e" -> nude)
    joined: list[str]  # separators inside words removed ("nu.de" -> nude); [] when the same
    spelled_out: list[str]  # runs of 6+ letters spelled out one by one, joined ("girltopless")


def views(text: str) -> MatchViews:
    """All canonical readings of a text for matching (one normalisation pass)."""
    base = unleet(strip_invisibles(text))
    spaced = _SPACES.sub(" ", _SEP_ANY.sub(" ", base.replace("_", " ")))
    spelled_out = ["".join(m.group().split()) for m in _LONG_LETTER_RUN.finditer(spaced)]
    spaced_tokens = _tokens(_join_spelled_out(spaced, keep_article=True))
    joined_tokens = _tokens(_join_spelled_out(_SEP_INSIDE.sub("", base).replace("_", "")))
    joined = [] if joined_tokens == spaced_tokens else joined_tokens
    return MatchViews(spaced_tokens, joined, spelled_out)


def match_views(text: str) -> tuple[list[str], list[str]]:
    """Canonical tokens for matching, two ways: ``spaced`` and ``joined`` (see MatchViews)."""
    found = views(text)
    return found.spaced, found.joined


def spelled_out_words(text: str) -> list[str]:
    """Runs of six or more letters spelled out one by one, joined: long enough to hide several
    words ("g i r l t o p l e s s" -> girltopless), so the blocklist also looks inside them."""
    return views(text).spelled_out


_RUNS = re.compile(rf"({_L})\1+")
_MAX_READINGS = 32  # per token; more runs than that fall back to "all short" and "all doubled"
# Suffixes stripped before asking whether a word is ordinary ("balloons", "coffees", "reeling").
_WORD_SUFFIXES = ("ings", "ing", "ers", "er", "es", "ed", "s", "ly")


def known_words() -> dict[str, int]:
    """Ordinary words, with their frequency rank: the shared text encoder's whole words."""
    from textencoder import vocabulary_words

    return vocabulary_words()


def word_rank(token: str) -> tuple[int, int] | None:
    """How ordinary a word is, lower is more: (0 as written / 1 inflected, frequency rank).

    Inflected means a common suffix stripped ("balloons", "strangling" from strangle,
    "stabbed" from stab); None for anything else (names, typos, stretched words).
    """
    words = known_words()
    if token in words:
        return (0, words[token])
    ranks = [words[stem] for stem in _stems(token) if stem in words]
    return (1, min(ranks)) if ranks else None


def _stems(token: str) -> list[str]:
    """Candidate stems of an inflected word."""
    out = []
    for suffix in _WORD_SUFFIXES:
        stem = token[: -len(suffix)]
        if token.endswith(suffix) and len(stem) >= 3:
            out.append(stem)
            if suffix[0] in "ei":  # strangling -> strangle, named -> name
                out.append(stem + "e")
            if len(stem) > 4 and stem[-1] == stem[-2]:  # stabbing -> stab ("nakked" is no "nak")
                out.append(stem[:-1])
    return out


def is_known_word(token: str) -> bool:
    """True for an ordinary word, as written or with a common suffix."""
    return word_rank(token) is not None


def _run_choices(form: str) -> list[tuple[int, int, tuple[int, ...]]] | None:
    """Letter runs of a token as (start, end, lengths to try); None when it has none.

    A run of three or more is stretching: read as one letter, two or three (a listed "xxx" or
    "kkk" stretched to "xxxxx", "massshooting" glued from "m a a s s s h o o t i n g"). A double
    letter is read as one too ("nuude", "nakked"), unless the token is an ordinary word ("good",
    "balloon"), whose double letters are spelling.
    """
    runs = list(_RUNS.finditer(form))
    if not runs:
        return None
    ordinary = all(len(m.group()) == 2 for m in runs) and is_known_word(form)
    return [(m.start(), m.end(), _run_lengths(len(m.group()), ordinary)) for m in runs]


def _run_lengths(length: int, ordinary: bool) -> tuple[int, ...]:
    """The lengths a run of ``length`` letters may stand for."""
    if length == 2:
        return (2,) if ordinary else (1, 2)
    return (1, 2, 3)


def _expand_runs(form: str) -> set[str]:
    """Every reading of a token's letter runs (see _run_choices), at most _MAX_READINGS."""
    choices = _run_choices(form)
    if choices is None:
        return {form}
    readings = [""]
    cursor = 0
    for start, end, lengths in choices:
        if len(readings) * len(lengths) > _MAX_READINGS:
            short = _RUNS.sub(r"\1", form)
            return {form, short, _REPEATS.sub(r"\1\1", form)}
        gap = form[cursor:start]
        letter = form[start]
        readings = [r + gap + letter * n for r in readings for n in lengths]
        cursor = end
    return {form, *(r + form[cursor:] for r in readings)}


@lru_cache(maxsize=65536)
def destretch(token: str) -> frozenset[str]:
    """Readings of a token: AMBIGUOUS_IL as i and l; jargon-shaped leet ("53x") decoded; each
    letter run as written, as one letter and as two ("nuuuude" -> nude, "kiiiilled" -> killed,
    "nuude" -> nude; "good" stays)."""
    readings = [token]
    if _JARGON.match(token) and _LEET_RUN.search(token):
        # Kept as jargon in the text ("35mm", "4k"), but "53x" and "70p" are also leetspeak.
        readings.append(_LEET_RUN.sub(lambda m: LEET[m.group()], token))
    if AMBIGUOUS_IL in token:
        readings = [form.replace(AMBIGUOUS_IL, ch) for form in readings for ch in ("i", "l")]
    out: set[str] = set()
    for form in readings:
        out.update(_expand_runs(form))
    return frozenset(out)


def _shorten_run(run: re.Match) -> str:
    """A stretched run in a word the vocabulary does not know: English doubles e, o and
    consonants but hardly ever a, i or u ("straaangling" -> strangling, "baloooon" -> baloon)."""
    letter = run.group(1)
    return letter if letter in "aiu" or not letter.isascii() else letter * 2


@lru_cache(maxsize=65536)
def _readable_token(token: str, doubles: bool = False) -> str:
    """The reading of a stretched token that is an ordinary word (the most frequent: "gooood" is
    good, "sooo" is so), else the token with its runs of three or more shortened.

    A token with only double letters is left alone ("noose", "matte": the vocabulary does not
    know every word) unless ``doubles``: the text stretches other words, so "persoon" is too.
    """
    if not (_REPEATS.search(token) or doubles) or is_known_word(token):
        return token
    if token in SPELLED_DOUBLES:
        return token
    ranked = [(rank, len(r), r) for r in _expand_runs(token) if (rank := word_rank(r)) is not None]
    if ranked:
        return min(ranked)[2]
    return _REPEATS.sub(_shorten_run, token)


def canonical_phrase(text: str) -> str:
    """The canonical form of a blocklist or allowlist entry (tokens joined by one space)."""
    return " ".join(match_views(text)[0]).replace(AMBIGUOUS_IL, "i")


def readable(text: str) -> str:
    """De-obfuscated text for the sentence encoder: same words a human reads, in plain letters."""
    base = unleet(strip_invisibles(text)).replace(AMBIGUOUS_IL, "i")
    # Join letters split by one kind of separator ("n.u.d.e"), keep "t-shirt" as written.
    base = _SPELLED_WITH_SEPARATORS.sub(lambda m: m.group()[::2], base)
    base = _join_spelled_out(base, keep_article=True)
    if _REPEATS.search(base):  # someone stretches words here: read doubles as stretching too
        base = _WORD_WITH_RUN.sub(lambda m: _readable_token(m.group(), doubles=True), base)
    base = _RARE_DOUBLE.sub(lambda m: _undouble_aiu(m.group()), base)
    return _SPACES.sub(" ", base).strip()


@lru_cache(maxsize=65536)
def _undouble_aiu(token: str) -> str:
    """An unknown word whose doubled a, i or u makes it unknown: "chiild" is child, "skuull"
    skull ("bazaar", "vacuum" are known words and stay)."""
    if token in SPELLED_DOUBLES or is_known_word(token):
        return token
    single = re.sub(r"([aiu])\1", r"\1", token)
    return single if is_known_word(single) else token
