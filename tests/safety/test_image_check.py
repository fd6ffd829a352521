"""The image check: benign renders pass, failures refuse."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw

from safety import Moderation, ModerationUnavailable
from safety.image import DEFAULT_THRESHOLD, ImageCheck


def canvas_render() -> Image.Image:
    """A benign image like our generator's: flat shapes on a plain background."""
    image = Image.new("RGB", (128, 128), (235, 240, 250))
    draw = ImageDraw.Draw(image)
    draw.ellipse((20, 20, 70, 70), fill=(220, 40, 40))
    draw.rectangle((60, 60, 110, 110), fill=(40, 90, 200))
    return image


def test_benign_render_allowed(moderation: Moderation) -> None:
    verdict = moderation.check_image(canvas_render())
    assert verdict.allowed
    assert verdict.stage == "image"
    assert verdict.scores["sexual"] < DEFAULT_THRESHOLD


def test_flagged_image_refused_with_stage_image(moderation: Moderation, monkeypatch) -> None:
    monkeypatch.setattr(moderation.image, "score", lambda image: 0.97)
    verdict = moderation.check_image(canvas_render())
    assert not verdict.allowed
    assert verdict.stage == "image"
    assert verdict.categories == ("sexual",)
    assert "image" in verdict.reason


def test_image_model_failing_to_load_fails_closed(tmp_path) -> None:
    bogus = tmp_path / "model.onnx"
    bogus.write_bytes(b"not an onnx model")
    check = ImageCheck(model_path=str(bogus))
    with pytest.raises(ModerationUnavailable, match="image model"):
        check.load()
    mod = Moderation(image_model_path=str(bogus))
    with pytest.raises(ModerationUnavailable):
        mod.load()
    assert mod.status()["image"].startswith("error:")
    with pytest.raises(ModerationUnavailable):
        mod.check_image(canvas_render())


def test_image_model_raising_fails_closed(moderation: Moderation, monkeypatch) -> None:
    def explode(image):
        raise RuntimeError("onnxruntime crashed")

    monkeypatch.setattr(moderation.image._classifier, "classify", explode)
    with pytest.raises(ModerationUnavailable, match="image check failed"):
        moderation.check_image(canvas_render())


def test_invalid_threshold_rejected() -> None:
    with pytest.raises(ValueError):
        ImageCheck(threshold=0)
