"""Config parsing: defaults, overrides, and clear errors for bad values."""

from __future__ import annotations

import pytest

from webapp import create_app
from webapp.config import Config, ConfigError


def test_defaults_live_in_the_instance_folder(tmp_path):
    cfg = Config.from_env({}, str(tmp_path))
    assert cfg["SAFECANVAS_DATABASE_URL"] == f"sqlite:///{tmp_path / 'safecanvas.db'}"
    assert cfg["SAFECANVAS_MODEL"] == "canvas-shapes"
    assert cfg["SAFECANVAS_RATE_LIMIT"] == "10/minute;200/day"
    assert cfg["SAFECANVAS_QUEUE_MAX"] == 32


def test_secret_key_persists_across_restarts(tmp_path):
    first = Config.from_env({}, str(tmp_path))["SAFECANVAS_SECRET_KEY"]
    second = Config.from_env({}, str(tmp_path))["SAFECANVAS_SECRET_KEY"]
    assert first == second and len(first) == 64


def test_environment_overrides(tmp_path):
    env = {
        "SAFECANVAS_DATABASE_URL": "postgresql+psycopg://u@h/db",
        "SAFECANVAS_QUEUE_MAX": "5",
        "SAFECANVAS_LOAD_MODELS": "off",
        "SAFECANVAS_IMAGE_NSFW_THRESHOLD": "0.7",
    }
    cfg = Config.from_env(env, str(tmp_path))
    assert cfg["SAFECANVAS_DATABASE_URL"] == "postgresql+psycopg://u@h/db"
    assert cfg["SAFECANVAS_QUEUE_MAX"] == 5
    assert cfg["SAFECANVAS_IMAGE_NSFW_THRESHOLD"] == 0.7


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("QUEUE_MAX", "many", "SAFECANVAS_QUEUE_MAX must be an integer"),
        ("QUEUE_MAX", "0", "SAFECANVAS_QUEUE_MAX must be at least 1"),
        ("RATE_LIMIT", "lots", "SAFECANVAS_RATE_LIMIT must look like"),
        ("LOAD_MODELS", "sometimes", "SAFECANVAS_LOAD_MODELS must be one of"),
        ("IMAGE_NSFW_THRESHOLD", "2", "SAFECANVAS_IMAGE_NSFW_THRESHOLD must be between"),
        ("LOG_LEVEL", "LOUD", "SAFECANVAS_LOG_LEVEL must be one of"),
    ],
)
def test_bad_values_name_the_variable(tmp_path, name, value, message):
    with pytest.raises(ConfigError, match=message):
        Config.from_env({f"SAFECANVAS_{name}": value}, str(tmp_path))


def test_bad_config_fails_at_start_up(tmp_path, monkeypatch):
    monkeypatch.setenv("SAFECANVAS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("SAFECANVAS_BATCH_MAX", "-3")
    with pytest.raises(ConfigError, match="SAFECANVAS_BATCH_MAX"):
        create_app()
