"""Errors raised by the generation boundary."""

from __future__ import annotations


class GenerationError(Exception):
    """Base class of every generation error."""


class InvalidGenerationRequest(GenerationError, ValueError):
    """A request the model cannot serve; ``field`` names the offending input."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ModelLoadError(GenerationError):
    """A model or adapter could not be loaded (missing or corrupt file, bad config)."""


class UnknownVersion(GenerationError, LookupError):
    """A model version name that the registry does not know."""


class GenerationCancelled(GenerationError):
    """The caller cancelled a request while it ran."""
