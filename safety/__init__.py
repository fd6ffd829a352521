"""SafeCanvas moderation: one interface over a blocklist, a prompt classifier and an image check.

Import is cheap: the encoder and the ONNX image model load in ``Moderation.load()``.
"""

from __future__ import annotations

from safety.errors import ModerationUnavailable
from safety.moderation import Moderation
from safety.verdict import CATEGORIES, STAGES, Verdict

__all__ = ["CATEGORIES", "STAGES", "Moderation", "ModerationUnavailable", "Verdict"]
