"""Fixtures for the moderation tests: one real Moderation per session, and fake encoders."""

from __future__ import annotations

import numpy as np
import pytest

from safety import Moderation
from safety.blocklist import Blocklist
from textencoder import HIDDEN_SIZE
from textencoder.segments import SegmentEmbeddings


@pytest.fixture(scope="session")
def moderation() -> Moderation:
    """The shipped moderation chain with the real encoder, head and image model."""
    mod = Moderation()
    mod.load()
    return mod


@pytest.fixture(scope="session")
def blocklist() -> Blocklist:
    """The shipped lists, language lists and request rules, loaded once."""
    bl = Blocklist()
    bl.load()
    return bl


class RaisingEncoder:
    """An encoder that fails the way a broken model would."""

    def segment_embeddings(self, texts, batch_size=128):
        raise RuntimeError("encoder exploded")


class NaNEncoder:
    """An encoder that returns garbage instead of raising."""

    def segment_embeddings(self, texts, batch_size=128):
        nan = np.full((len(texts), HIDDEN_SIZE), np.nan, dtype=np.float32)
        return SegmentEmbeddings(nan, nan, np.arange(len(texts)))


@pytest.fixture
def raising_encoder() -> RaisingEncoder:
    """Encoder whose every call raises."""
    return RaisingEncoder()


@pytest.fixture
def nan_encoder() -> NaNEncoder:
    """Encoder returning NaNs."""
    return NaNEncoder()
