"""The model and the moderation chain one app process serves with: loaded once, and readiness.

Not to be confused with ``GenerationService``, the request path that uses them.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app

from textencoder.runtime import use_torch_threads
from webapp.interfaces import ModerationChain, TextToImage

log = logging.getLogger(__name__)
EXTENSION = "safecanvas.loaded_models"
# At exit, how long to let the loader finish the step it is in (one model load).
EXIT_WAIT_S = 120.0
PROMPT_PARTS = ("blocklist", "classifier")  # what a web process needs with Celery


class LoadedModels:
    """Holds the generator and the moderation chain; loads them once, in the background."""

    def __init__(
        self, generator: TextToImage, moderation: ModerationChain, generates_here: bool = True
    ) -> None:
        """Hold these two; nothing is loaded yet.

        ``generates_here`` is False in a web process with Celery: it only moderates prompts,
        so it loads neither the diffusion model nor the image check (GPU workers do).
        """
        self.generator = generator
        self.moderation = moderation
        self.generates_here = generates_here
        self.load_error: str | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> LoadedModels:
        """The configured model and the moderation chain, sharing one text encoder."""
        from generation import Generator, MemoryOptions
        from safety import Moderation
        from textencoder import TextEncoder

        # One MiniLM for both: canvas-shapes' conditioning and the prompt classifier.
        encoder = TextEncoder()
        generator = Generator(
            model=config["SAFECANVAS_MODEL"],
            model_dir=config["SAFECANVAS_MODEL_DIR"],
            text_encoder=encoder,
            memory=MemoryOptions(
                cpu_offload=config["SAFECANVAS_MODEL_CPU_OFFLOAD"],
                vae_tiling=config["SAFECANVAS_VAE_TILING"],
                vae_slicing=config["SAFECANVAS_VAE_SLICING"],
                attention_slicing=config["SAFECANVAS_ATTENTION_SLICING"],
                variant=config["SAFECANVAS_MODEL_VARIANT"],
            ),
            device=config["SAFECANVAS_DEVICE"],
            device_slot=config["SAFECANVAS_DEVICE_SLOT"],
        )
        moderation = Moderation(
            encoder=encoder, image_threshold=config["SAFECANVAS_IMAGE_NSFW_THRESHOLD"]
        )
        return cls(generator, moderation)

    def load(self) -> None:
        """Load the model (where this process generates), then moderation; record failures."""
        if self.generates_here:
            steps = (
                lambda: use_torch_threads(1, import_torch=True),  # before a thread team exists
                self.generator.load,
                self.moderation.load,
            )
        else:  # with Celery: prompts only, so neither the diffusion model nor the image check
            steps = (
                lambda: use_torch_threads(1, import_torch=True),
                lambda: self.moderation.load(PROMPT_PARTS),
            )
        with self._lock:
            try:
                for step in steps:
                    if self._stopping.is_set():
                        log.info("model loading stopped: the process is exiting")
                        return
                    step()
                self.load_error = None
            except Exception as exc:  # reported by /readyz; moderation then fails closed
                self.load_error = f"{type(exc).__name__}: {exc}"
                if self._stopping.is_set():  # e.g. an import that needs the exiting interpreter
                    log.info("model loading stopped at exit: %s", self.load_error)
                else:
                    log.exception("loading models failed")

    def load_in_background(self) -> None:
        """Start loading without blocking start-up; /readyz says 503 until done."""
        self._thread = threading.Thread(target=self.load, name="model-loader", daemon=True)
        self._thread.start()
        atexit.register(self.stop_loading)

    def stop_loading(self, wait_s: float = EXIT_WAIT_S) -> None:
        """Skip the steps not started yet and wait for the current one to end.

        A daemon thread still inside torch or onnxruntime when the interpreter finalises is
        killed mid-C++ call, and the process aborts ("terminate called without an active
        exception"); atexit runs before that, so the loader ends cleanly here.
        """
        self._stopping.set()
        thread = self._thread
        if thread is not None and thread.is_alive():
            thread.join(wait_s)
            if thread.is_alive():
                log.warning("model loading still running after %.0f s at exit", wait_s)

    def readiness(self) -> tuple[bool, dict[str, str]]:
        """Whether every component is ready, and each component's state."""
        components = {}
        if self.generates_here:
            components["model"] = "ready" if self.generator.ready else "not loaded"
        try:
            status = self.moderation.status().items()
            parts = None if self.generates_here else PROMPT_PARTS
            components.update({f"moderation.{k}": v for k, v in status if not parts or k in parts})
        except Exception as exc:  # a broken moderator must show, not crash the probe
            components["moderation"] = f"error: {exc}"
        if self.load_error and self.generates_here and not self.generator.ready:
            components["model"] = f"error: {self.load_error}"
        ready = all(state == "ready" for state in components.values())
        return ready, components


def init_app(app: Flask, models: LoadedModels | None = None) -> None:
    """Attach ``models`` (default: the configured ones) and start loading them as configured."""
    models = models or LoadedModels.from_config(app.config)
    # With Celery, GPU workers generate (webapp.jobs.celery_worker sets it back to True).
    models.generates_here = app.config["SAFECANVAS_QUEUE"] == "inprocess"
    app.extensions[EXTENSION] = models
    # Request threads embed prompts for moderation on one intra-op thread each; the
    # generation worker alone uses several (see textencoder.runtime).
    app.before_request(lambda: use_torch_threads(1))
    mode = app.config["SAFECANVAS_LOAD_MODELS"]
    if mode == "eager":
        models.load()
    elif mode == "background":
        models.load_in_background()


def get_loaded_models(app: Flask | None = None) -> LoadedModels:
    """The current app's loaded models."""
    return (app or current_app).extensions[EXTENSION]
