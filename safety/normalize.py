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
_NON_WORD = re.compile(r"[^\w\s\x01]+")
_SPACES = re.compile(r"\s+")
_REPEATS = re.compile(r"([a-z])\1{2,}")
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


def match_views(text: str) -> tuple[list[str], list[str]]:
    """Canonical tokens for matching, two ways.

    Returns:
        ``spaced``: separators read as spaces ("nude.sexy" -> nude, sexy; "n.u.d.e" -> nude).
        ``joined``: separators inside words removed ("nu.de" -> nude, "self-harm" -> selfharm).
    """
    base = unleet(strip_invisibles(text))
    spaced = _SPACES.sub(" ", _SEP_ANY.sub(" ", base.replace("_", " ")))
    spaced_tokens = _tokens(_join_spelled_out(spaced, keep_article=True))
    joined_tokens = _tokens(_join_spelled_out(_SEP_INSIDE.sub("", base).replace("_", "")))
    return spaced_tokens, ([] if joined_tokens == spaced_tokens else joined_tokens)


@lru_cache(maxsize=65536)
def destretch(token: str) -> frozenset[str]:
    """Readings of a token: AMBIGUOUS_IL as i and l; 3+ letter runs as written, cut to 1 and 2."""
    readings = [token]
    if AMBIGUOUS_IL in token:
        readings = [token.replace(AMBIGUOUS_IL, "i"), token.replace(AMBIGUOUS_IL, "l")]
    out = set()
    for form in readings:
        if _REPEATS.search(form):
            out.update((form, _REPEATS.sub(r"\1", form), _REPEATS.sub(r"\1\1", form)))
        else:
            out.add(form)
    return frozenset(out)


def canonical_phrase(text: str) -> str:
    """The canonical form of a blocklist or allowlist entry (tokens joined by one space)."""
    return " ".join(match_views(text)[0]).replace(AMBIGUOUS_IL, "i")


def readable(text: str) -> str:
    """De-obfuscated text for the sentence encoder: same words a human reads, in plain letters."""
    base = unleet(strip_invisibles(text)).replace(AMBIGUOUS_IL, "i")
    # Join letters split by one kind of separator ("n.u.d.e"), keep "t-shirt" as written.
    base = _SPELLED_WITH_SEPARATORS.sub(lambda m: m.group()[::2], base)
    base = _join_spelled_out(base, keep_article=True)
    base = _REPEATS.sub(r"\1\1", base)
    return _SPACES.sub(" ", base).strip()
