"""SafeCanvas generation: one boundary from prompt to pixels, plus the models behind it.

Importing this package is cheap; torch and diffusers load inside ``Generator.load``.
"""

from __future__ import annotations

from .errors import (
    GenerationCancelled,
    GenerationError,
    InvalidGenerationRequest,
    ModelLoadError,
    UnknownVersion,
)
from .generator import Generator
from .types import (
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    MemoryOptions,
    ModelLimits,
    ProgressCallback,
)
from .versions import Registry, Version

__all__ = [
    "GeneratedImage",
    "GenerationCancelled",
    "GenerationError",
    "GenerationRequest",
    "GenerationResult",
    "Generator",
    "InvalidGenerationRequest",
    "MemoryOptions",
    "ModelLimits",
    "ModelLoadError",
    "ProgressCallback",
    "Registry",
    "UnknownVersion",
    "Version",
]
