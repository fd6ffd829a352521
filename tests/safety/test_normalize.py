"""Normalisation undoes each obfuscation trick and leaves ordinary text alone."""

from __future__ import annotations

import pytest

from safety.normalize import destretch, match_views, readable, spelled_out_words


def tokens(text: str) -> set[str]:
    """Every canonical reading of every token, across both views."""
    spaced, joined = match_views(text)
    return {form for tok in spaced + joined for form in destretch(tok)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NUDE", "nude"),
        ("ｎｕｄｅ", "nude"),  # fullwidth, NFKC
        ("nudе", "nude"),  # Cyrillic e
        ("nυdε", "nude"),  # Greek upsilon and epsilon
        ("ɴᴜᴅᴇ", "nude"),  # small capitals
        ("n\u200bu\u200bd\u200be", "nude"),  # zero-width spaces
        ("nu\u00adde", "nude"),  # soft hyphen
        ("n\u0301u\u0308d\u0303e", "nude"),  # combining marks
        ("ñúdé", "nude"),  # precomposed accents
        ("n.u.d.e", "nude"),
        ("n u d e", "nude"),
        ("n-u-d-e", "nude"),
        ("n_u_d_e", "nude"),
        ("n*u*d*e", "nude"),
        ("nu.de", "nude"),
        ("nuuuuude", "nude"),
        ("naaaaked", "naked"),
        ("nuude", "nude"),  # stretched by one letter only
        ("nakked", "naked"),
        ("kiiiilled", "killed"),  # one run cut to one letter, the real double kept
        ("asssholeee", "asshole"),
        ("bllooood", "blood"),
        ("s3x", "sex"),
        ("p0rn", "porn"),
        ("@ss", "ass"),
        ("$lut", "slut"),
        ("b1ood", "blood"),  # 1 read as l
        ("k1ll", "kill"),  # 1 read as l, twice over
        ("n!pple", "nipple"),  # ! read as i
    ],
)
def test_obfuscations_are_undone(text: str, expected: str) -> None:
    assert expected in tokens(text)


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("a 4k photo", "4k"),
        ("35mm film", "35mm"),
        ("the 1920s", "1920s"),
        ("a 3d render", "3d"),
        ("wow!", "wow"),  # a trailing ! is punctuation
    ],
)
def test_numbers_and_jargon_are_not_leetspeak(text: str, kept: str) -> None:
    assert kept in tokens(text)


def test_hyphenated_words_are_read_both_ways() -> None:
    spaced, joined = match_views("a self-harm scene")
    assert "self" in spaced and "harm" in spaced
    assert "selfharm" in joined


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a n.u.d.e w0man", "a nude woman"),
        ("nudе", "nude"),
        ("bl\u200bood", "blood"),
        ("a t-shirt, 4k, 35mm", "a t-shirt, 4k, 35mm"),
        ("nuuuude", "nude"),  # the reading the encoder knows as a word
        ("gooood morning", "good morning"),  # the most frequent word among the readings
        ("sooo cute", "so cute"),
        ("straaaangling", "strangling"),  # an inflected word
        ("a persoon with a liiiighter", "a person with a lighter"),  # doubles stretch too here
        ("a noose and a matte finish", "a noose and a matte finish"),  # but not here
        ("zaaaara", "zara"),  # no word fits: a/i/u are seldom doubled in English
    ],
)
def test_readable_text_for_the_encoder(text: str, expected: str) -> None:
    assert readable(text) == expected


@pytest.mark.parametrize(
    "word",
    ["good", "reel", "see", "balloon", "coffee", "annals", "assassin", "passes", "stabbing"],
)
def test_ordinary_double_letters_stay(word: str) -> None:
    """A real word's double letter is spelling, not stretching: it is not read as one letter."""
    assert destretch(word) == frozenset({word})


def test_stretched_double_letter_words_keep_both_readings() -> None:
    assert {"balloon", "balon"} <= destretch("baaalloon")  # stretched, so every reading counts


@pytest.mark.parametrize(("token", "reading"), [("53x", "sex"), ("70p", "top")])
def test_jargon_shaped_leet_is_also_read_as_leet(token: str, reading: str) -> None:
    assert {token, reading} <= tokens(token)


def test_jargon_stays_for_the_encoder() -> None:
    assert readable("a 53x zoom, 4k, 70p") == "a 53x zoom, 4k, 70p"


def test_spelled_out_runs_that_hide_several_words() -> None:
    assert spelled_out_words("the g i r l t o p l e s s here") == ["girltopless"]
    assert spelled_out_words("a n u d e woman") == []  # five letters: one word, matched as one


@pytest.mark.parametrize(
    "mark", list("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
)
def test_bidi_controls_are_dropped_before_moderation(mark: str) -> None:
    # A right-to-left override inside a word neither hides it nor reaches the encoder.
    assert "nude" in tokens(f"a nu{mark}de photo")
    assert readable(f"a nu{mark}de photo") == "a nude photo"


@pytest.mark.parametrize(
    ("token", "reading"),
    [("xxxxx", "xxx"), ("kkkkkkk", "kkk"), ("maaaaassshooting", "massshooting"),
     ("голаяяя", "голая")],
)  # fmt: skip
def test_long_runs_are_also_read_as_three_letters_in_any_script(token: str, reading: str) -> None:
    assert reading in destretch(token)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a chiild stripping", "a child stripping"),  # a doubled i is stretching
        ("skuull and laady", "skull and lady"),
        ("a vacuum in a bazaar, skiing", "a vacuum in a bazaar, skiing"),  # known words stay
        ("a personnn with a noose, gagged", "a person with a noose, gagged"),  # spelling stays
    ],
)
def test_stretched_doubles_for_the_encoder(text: str, expected: str) -> None:
    assert readable(text) == expected
