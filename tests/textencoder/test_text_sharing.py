"""The web app builds one text encoder and hands the same object to generation and moderation."""

from __future__ import annotations

from textencoder import TextEncoder


def test_the_loaded_models_share_one_encoder(tmp_path) -> None:
    from webapp.config import test_config
    from webapp.loaded_models import LoadedModels

    models = LoadedModels.from_config(test_config(str(tmp_path)))
    encoder = models.generator.text_encoder
    assert isinstance(encoder, TextEncoder) and not encoder.loaded  # loads with the models
    assert models.moderation.text_encoder is encoder
