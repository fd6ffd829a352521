"""What the web app asks of the model and of the moderation chain, as ``typing.Protocol``s.

``generation.Generator`` and ``safety.Moderation`` satisfy them, and so do the stand-ins the
web tests use (tests/webapp/test_interfaces.py checks both). Code in webapp/ relies on these
members only, so it reads the same whichever implementation it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from PIL.Image import Image

    from generation.types import GenerationRequest, GenerationResult, ModelLimits
    from generation.versions import Registry
    from safety.verdict import Verdict


@runtime_checkable
class TextToImage(Protocol):
    """The generation boundary: load once, then validate, batch and run many requests."""

    model: str  # what is served: a name, a checkpoint folder or a hub id
    external: bool  # a checkpoint from outside (one fixed version), not canvas-shapes
    registry: Registry  # the versions an admin may activate (unused when external)

    @property
    def ready(self) -> bool:
        """Whether ``load`` has run."""

    @property
    def limits(self) -> ModelLimits:
        """Sizes, defaults and bounds (known before the weights are loaded)."""

    @property
    def active_version(self) -> str:
        """The version a request without one gets."""

    @property
    def device(self) -> str:
        """The torch device it generates on (``cpu``, ``cuda:1``, ...)."""

    def versions(self) -> list[str]:
        """Names of the versions a request may ask for."""

    def device_memory(self) -> dict[str, int]:
        """Device memory held, by kind (``allocated``, ``reserved``); {} off CUDA."""

    def load(self) -> object:
        """Load the weights (idempotent)."""

    def validate(self, req: GenerationRequest) -> GenerationRequest:
        """The request with the model's defaults filled in; InvalidGenerationRequest if bad."""

    def batch_key(self, req: GenerationRequest) -> Hashable:
        """Validated requests with equal keys can run as one pipeline call."""

    def generate_batch(
        self,
        reqs: Sequence[GenerationRequest],
        progress: Callable[[int, int], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> list[GenerationResult]:
        """Run compatible requests together; GenerationCancelled when asked to stop."""


@runtime_checkable
class ModerationChain(Protocol):
    """The moderation chain: a verdict for each prompt and each generated image."""

    @property
    def version(self) -> str:
        """Recorded with every verdict and every stored image."""

    def load(self, parts: tuple[str, ...] = ...) -> None:
        """Load every part (or the named ones); ModerationUnavailable naming the failures."""

    def status(self) -> dict[str, str]:
        """Part -> "ready", "not loaded" or "error: ..." (for /readyz)."""

    def check_prompt(self, prompt: str, negative_prompt: str = "") -> Verdict:
        """The verdict on a prompt; ModerationUnavailable when it cannot be judged.

        Its ``action`` is ``allow``, ``guard`` or ``refuse``; a ``guard`` verdict carries the
        ``safeguards`` (safety negative prompt, stricter image threshold) the job runs with.
        """

    def check_image(self, image: Image, threshold: float | None = None) -> Verdict:
        """The verdict on a generated image; ModerationUnavailable when it cannot be judged.

        ``threshold``: a guarded job's stricter one (never looser than the configured one).
        """
