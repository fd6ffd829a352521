"""Which language a prompt is written in: py3langid, limited to the languages we have lists for.

Why py3langid (``docs/moderation.md``, "Other languages"): on 320 short written prompts in
de/fr/es/it/pt/pl/ru/tr it named 315 right against lingua-language-detector's 317, at a fifth
of the time per prompt (0.1 ms), a 4.5 MB install against 96 MB, and it called fewer English
prompts confidently non-English (2 of 3,000 real prompts against 8).

Limiting the candidates to English and the listed languages makes short prompts far more
reliable; a prompt in another language is then read as the nearest of them, which is right for
the one question that matters beyond routing: can the English-only classifier read it?
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from safety.errors import ModerationUnavailable

LISTED = ("de", "fr", "es", "it", "pt", "pl", "ru", "tr")  # languages with a blocklist
ROUTE_AT = 0.25  # probability from which a language's list joins the English one (close
# languages split the probability: "affiche de propagande nazie" is Italian 0.57, French 0.4)
# A prompt is "confidently not English" when English is not the best guess and has less than
# this probability. Measured: 307 of the 320 written non-English prompts, 22 of 20,000 real
# prompts (some of them really are in other languages), 0 of 5,000 COCO captions. (The best
# guess's own probability is a worse signal: close languages share it, "un antico castello al
# tramonto" is Italian at 0.73 and English at 0.001.)
ENGLISH_BELOW = 0.02


@dataclass(frozen=True)
class LanguageGuess:
    """The detected language of one prompt and how sure the detector is."""

    language: str = "en"
    probability: float = 1.0
    english_probability: float = 1.0
    routed: tuple[str, ...] = ()  # the non-English languages whose lists apply

    @property
    def classifier_competent(self) -> bool:
        """False for a prompt confidently not in English: the English-only classifier cannot
        read it, so it must not refuse it on its own (see Moderation.classifier_may_refuse)."""
        return self.language == "en" or self.english_probability >= ENGLISH_BELOW


ENGLISH = LanguageGuess()


class LanguageDetector:
    """Load the py3langid model once per process, then guess many prompts.

    Reading the model takes 0.6-1.9 s (an xz-compressed table), so ``start()`` reads it on a
    thread while the caller loads other things (Moderation loads the encoder meanwhile);
    ``load()`` waits for it and raises ModerationUnavailable if it failed.
    """

    def __init__(self, languages: tuple[str, ...] = ("en", *LISTED)) -> None:
        self.languages = languages
        self._identifier = None
        self._thread: threading.Thread | None = None
        self._error: Exception | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Begin reading the model in the background (idempotent)."""
        with self._lock:
            if self._thread is None and self._identifier is None:
                self._thread = threading.Thread(
                    target=self._read, name="language-model", daemon=True
                )
                self._thread.start()

    def _read(self) -> None:
        """Thread body: the shared identifier for our languages, or the error."""
        try:
            self._identifier = _identifier(self.languages)
        except Exception as exc:  # reported by load(); a detector that failed is not ready
            self._error = exc

    def load(self) -> None:
        """Make sure the model is read; ModerationUnavailable if it cannot be."""
        self.start()
        thread = self._thread
        if thread is not None:
            thread.join()
        if self._identifier is None:
            error = self._error or RuntimeError("no model")
            with self._lock:
                self._thread, self._error = None, None  # a later load() tries again
            raise ModerationUnavailable(f"language detector failed to load: {error}") from error

    @property
    def loaded(self) -> bool:
        """True once the model has been read."""
        return self._identifier is not None

    def detect(self, text: str) -> LanguageGuess:
        """The most likely language of ``text``; English for text without letters."""
        if not any(ch.isalpha() for ch in text):
            return ENGLISH
        if self._identifier is None:
            self.load()
        ranked = self._identifier.rank(text)  # no shared state: thread-safe
        english = next((p for lang, p in ranked if lang == "en"), 0.0)
        routed = tuple(str(lang) for lang, p in ranked if lang != "en" and p >= ROUTE_AT)
        return LanguageGuess(str(ranked[0][0]), float(ranked[0][1]), float(english), routed)


_identifiers: dict[tuple[str, ...], object] = {}
_identifiers_lock = threading.Lock()


def _identifier(languages: tuple[str, ...]):
    """py3langid's identifier limited to ``languages``, read once per process."""
    with _identifiers_lock:
        if languages not in _identifiers:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            identifier.set_languages(list(languages))
            _identifiers[languages] = identifier
        return _identifiers[languages]
