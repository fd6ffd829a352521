"""The web app builds one text encoder and hands the same object to generation and moderation."""

from __future__ import annotations

from textencoder import TextEncoder


def test_services_share_one_encoder(tmp_path) -> None:
    from webapp.config import test_config
    from webapp.services import Services

    services = Services(test_config(str(tmp_path)))
    encoder = services.text_encoder
    assert isinstance(encoder, TextEncoder) and not encoder.loaded  # loads with the models
    assert services.generator.text_encoder is encoder
    assert services.moderation.text_encoder is encoder
