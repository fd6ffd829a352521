"""Config parsing: defaults, overrides, and clear errors for bad values."""

from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor

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
        ("LOG_FORMAT", "yaml", "SAFECANVAS_LOG_FORMAT must be one of text, json"),
        ("MODEL_CPU_OFFLOAD", "sometimes", "SAFECANVAS_MODEL_CPU_OFFLOAD must be true or false"),
        ("ATTENTION_SLICING", "0", "SAFECANVAS_ATTENTION_SLICING must be off, auto, max"),
        ("MODEL_VARIANT", "../fp16", "SAFECANVAS_MODEL_VARIANT must be a weight-file variant"),
        ("QUEUE", "kafka", "SAFECANVAS_QUEUE must be one of inprocess, celery"),
        ("BROKER_URL", "http://broker", "SAFECANVAS_BROKER_URL must be a redis:// or amqp://"),
        ("DEVICE", "gpu2", "SAFECANVAS_DEVICE must be auto, cpu, mps, cuda or cuda:N"),
        ("IMAGE_STORE", "s3", "SAFECANVAS_IMAGE_STORE must be one of directory, database"),
        ("WORKER_METRICS", "9808", "SAFECANVAS_WORKER_METRICS must be host:port or off"),
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


def test_memory_options_reach_the_generator(tmp_path):
    from generation import MemoryOptions
    from webapp.config import test_config
    from webapp.loaded_models import get_loaded_models

    env = {
        "SAFECANVAS_MODEL_CPU_OFFLOAD": "true",
        "SAFECANVAS_VAE_TILING": "yes",
        "SAFECANVAS_ATTENTION_SLICING": "4",
        "SAFECANVAS_MODEL_VARIANT": "fp16",
    }
    parsed = Config.from_env(env, str(tmp_path))
    memory = {k: v for k, v in parsed.items() if k.removeprefix("SAFECANVAS_") in MEMORY_KEYS}
    generator = get_loaded_models(create_app(test_config(str(tmp_path), **memory))).generator
    assert generator.memory == MemoryOptions(
        cpu_offload=True, vae_tiling=True, attention_slicing="4", variant="fp16"
    )
    defaults = Config.from_env({}, str(tmp_path))
    assert [defaults[f"SAFECANVAS_{k}"] for k in MEMORY_KEYS] == [False, False, False, "off", None]


MEMORY_KEYS = (
    "MODEL_CPU_OFFLOAD",
    "VAE_TILING",
    "VAE_SLICING",
    "ATTENTION_SLICING",
    "MODEL_VARIANT",
)


@pytest.fixture
def umask_022():
    """The usual umask, under which a plain file is created world-readable (0644)."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_instance_secrets_are_born_private(tmp_path, monkeypatch, umask_022):
    # With chmod doing nothing, only a file created 0600 from the start ends up 0600:
    # a file written first and restricted afterwards was readable by others meanwhile.
    monkeypatch.setattr(os, "chmod", lambda *args, **kwargs: None)
    Config.from_env({}, str(tmp_path))
    for name in ("secret_key", "ip_hash_salt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ip_hash_salt", "secret_key"]


def test_workers_starting_together_share_one_secret(tmp_path):
    with ThreadPoolExecutor(8) as pool:
        keys = set(
            pool.map(
                lambda _: Config.from_env({}, str(tmp_path))["SAFECANVAS_SECRET_KEY"], range(16)
            )
        )
    assert len(keys) == 1


def test_the_broker_keeps_a_dead_workers_jobs_longer_than_a_job_may_run(tmp_path):
    cfg = Config.from_env({"SAFECANVAS_JOB_TIMEOUT_S": "300"}, str(tmp_path))
    assert cfg["SAFECANVAS_QUEUE"] == "inprocess"  # make run stays one process
    assert cfg["SAFECANVAS_BROKER_VISIBILITY_TIMEOUT_S"] == 360
    assert cfg["SAFECANVAS_DEVICE"] == "auto"
