"""Normalisation undoes each obfuscation trick and leaves ordinary text alone."""

from __future__ import annotations

import pytest

from safety.normalize import destretch, match_views, readable


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
        ("nuuuude", "nuude"),
    ],
)
def test_readable_text_for_the_encoder(text: str, expected: str) -> None:
    assert readable(text) == expected
