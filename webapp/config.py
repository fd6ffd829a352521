"""Configuration: one class read from ``SAFECANVAS_*`` environment variables."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from limits import parse_many


class ConfigError(ValueError):
    """A setting is missing or malformed; raised at start-up, naming the variable."""


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"SAFECANVAS_{name} must be true or false, got {raw!r}")


def _int(name: str, raw: str, minimum: int = 0) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"SAFECANVAS_{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"SAFECANVAS_{name} must be at least {minimum}, got {value}")
    return value


def _float(name: str, raw: str, low: float, high: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"SAFECANVAS_{name} must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"SAFECANVAS_{name} must be between {low} and {high}, got {value}")
    return value


def _rate(name: str, raw: str) -> str:
    try:
        parse_many(raw)
    except ValueError:
        raise ConfigError(
            f"SAFECANVAS_{name} must look like '10/minute;200/day', got {raw!r}"
        ) from None
    return raw


def _public_url(name: str, raw: str) -> str | None:
    """An absolute http(s) base URL, kept without its trailing slash (blank: none)."""
    if not raw.strip():
        return None
    parts = urlsplit(raw.strip())
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(
            f"SAFECANVAS_{name} must look like 'https://canvas.example.com', got {raw!r}"
        )
    return raw.strip().rstrip("/")


def _device(name: str, raw: str) -> str:
    value = raw.strip().lower()
    base, _, index = value.partition(":")
    if value in {"auto", "cpu", "mps", "cuda"} or (base == "cuda" and index.isdigit()):
        return value
    raise ConfigError(f"SAFECANVAS_{name} must be auto, cpu, mps, cuda or cuda:N, got {raw!r}")


def _broker(name: str, raw: str) -> str:
    if not raw.startswith(("redis://", "rediss://", "amqp://", "amqps://")):
        raise ConfigError(f"SAFECANVAS_{name} must be a redis:// or amqp:// URL, got {raw!r}")
    return raw


def _address(name: str, raw: str) -> str:
    host, _, port = raw.rpartition(":")
    if raw in {"", "off"} or (host and port.isdigit()):
        return "" if raw == "off" else raw
    raise ConfigError(f"SAFECANVAS_{name} must be host:port or off, got {raw!r}")


def _choice(name: str, raw: str, choices: tuple[str, ...]) -> str:
    if raw not in choices:
        raise ConfigError(f"SAFECANVAS_{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _slicing(name: str, raw: str) -> str:
    value = raw.strip().lower()
    if value in {"off", "auto", "max"} or (value.isdigit() and int(value) > 0):
        return value
    raise ConfigError(f"SAFECANVAS_{name} must be off, auto, max or a slice size, got {raw!r}")


def _variant(name: str, raw: str) -> str | None:
    value = raw.strip()
    if not value:
        return None
    if not value.replace("_", "").isalnum():
        raise ConfigError(f"SAFECANVAS_{name} must be a weight-file variant like fp16, got {raw!r}")
    return value


def _file(name: str, raw: str) -> str | None:
    value = raw.strip()
    if value and not os.path.isfile(value):
        raise ConfigError(f"SAFECANVAS_{name} must name a readable file, got {raw!r}")
    return value or None


# name -> (default, parser). Defaults are strings so they go through the same checks.
SETTINGS: dict[str, tuple[str | None, Any]] = {
    "SECRET_KEY": (None, lambda n, v: v),
    "DATABASE_URL": (None, lambda n, v: v),
    "MODEL": ("canvas-shapes", lambda n, v: v),
    "MODEL_DIR": (None, lambda n, v: v),
    "DEVICE": ("auto", _device),
    "DEVICE_SLOT": ("0", lambda n, v: _int(n, v, 0)),
    "IMAGE_DIR": (None, lambda n, v: v),
    "MODEL_CPU_OFFLOAD": ("false", _bool),
    "VAE_TILING": ("false", _bool),
    "VAE_SLICING": ("false", _bool),
    "ATTENTION_SLICING": ("off", _slicing),
    "MODEL_VARIANT": ("", _variant),
    "IMAGE_STORE": ("directory", lambda n, v: _choice(n, v, ("directory", "database"))),
    "LOAD_MODELS": ("background", lambda n, v: _choice(n, v, ("eager", "background", "off"))),
    "RATE_LIMIT": ("10/minute;200/day", _rate),
    "FORM_RATE_LIMIT": ("10/minute;200/day", _rate),
    "RATE_LIMIT_STORAGE": ("memory://", lambda n, v: v),
    "REFUSAL_LIMIT": ("5/10 minutes", _rate),
    "REFUSAL_COOLDOWN_S": ("600", lambda n, v: _int(n, v, 1)),
    "QUEUE": ("inprocess", lambda n, v: _choice(n, v, ("inprocess", "celery"))),
    "BROKER_URL": ("redis://127.0.0.1:6379/0", _broker),
    "BROKER_QUEUE": ("safecanvas.generate", lambda n, v: v),
    "BROKER_VISIBILITY_TIMEOUT_S": (None, lambda n, v: _int(n, v, 1)),
    "WORKER_METRICS": ("127.0.0.1:9808", _address),
    "QUEUE_MAX": ("32", lambda n, v: _int(n, v, 1)),
    "BATCH_MAX": ("4", lambda n, v: _int(n, v, 1)),
    "BATCH_WAIT_MS": ("50", lambda n, v: _int(n, v, 0)),
    "JOB_TIMEOUT_S": ("600", lambda n, v: _int(n, v, 1)),
    "IMAGE_URL_TTL_S": ("3600", lambda n, v: _int(n, v, 1)),
    "IMAGE_NSFW_THRESHOLD": (None, lambda n, v: _float(n, v, 0.0, 1.0)),
    "POLICY_FILE": (None, _file),
    "IP_HASH_SALT": (None, lambda n, v: v),
    "METRICS_TOKEN": (None, lambda n, v: v),
    "TRUSTED_PROXIES": ("0", lambda n, v: _int(n, v, 0)),
    "PUBLIC_URL": (None, _public_url),
    "HTTPS": (None, lambda n, v: _bool(n, v) if v.strip() else None),  # blank: from PUBLIC_URL
    "TORCH_THREADS": ("0", lambda n, v: _int(n, v, 0)),
    # A canary's rollback rule (docs/deploy.md, "Experiments"); each start may override them.
    "CANARY_MIN_SAMPLE": ("100", lambda n, v: _int(n, v, 1)),
    "CANARY_ERROR_MARGIN": ("0.05", lambda n, v: _float(n, v, 0.0, 1.0)),
    "CANARY_REFUSAL_MARGIN": ("0.05", lambda n, v: _float(n, v, 0.0, 1.0)),
    "CANARY_LATENCY_MARGIN": ("0.5", lambda n, v: _float(n, v, 0.0, 100.0)),
    "LOG_FORMAT": ("text", lambda n, v: _choice(n, v.strip().lower(), ("text", "json"))),
    "LOG_LEVEL": (
        "INFO",
        lambda n, v: _choice(n, v.upper(), ("DEBUG", "INFO", "WARNING", "ERROR")),
    ),
}


class Config:
    """Settings for one app instance, with keys as Flask config names (``SAFECANVAS_*``)."""

    TESTING = False

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, instance_path: str = "instance"
    ) -> dict:
        """Parse every setting from ``env`` (default ``os.environ``); raise ConfigError if bad."""
        env = os.environ if env is None else env
        out: dict[str, Any] = {}
        for name, (default, parse) in SETTINGS.items():
            raw = env.get(f"SAFECANVAS_{name}", default)
            out[f"SAFECANVAS_{name}"] = None if raw is None else parse(name, raw)
        return cls.fill_defaults(out, instance_path)

    @staticmethod
    def fill_defaults(out: dict[str, Any], instance_path: str) -> dict:
        """Derive the paths and secrets that default to the instance folder."""
        inst = Path(instance_path)
        if not out.get("SAFECANVAS_DATABASE_URL"):
            out["SAFECANVAS_DATABASE_URL"] = f"sqlite:///{inst / 'safecanvas.db'}"
        out["SAFECANVAS_MODEL_DIR"] = out.get("SAFECANVAS_MODEL_DIR") or str(inst / "models")
        out["SAFECANVAS_IMAGE_DIR"] = out.get("SAFECANVAS_IMAGE_DIR") or str(inst / "images")
        if not out.get("SAFECANVAS_BROKER_VISIBILITY_TIMEOUT_S"):  # longer than any job may run
            out["SAFECANVAS_BROKER_VISIBILITY_TIMEOUT_S"] = out["SAFECANVAS_JOB_TIMEOUT_S"] + 60
        if not out.get("SAFECANVAS_SECRET_KEY"):
            out["SAFECANVAS_SECRET_KEY"] = _instance_secret(inst, "secret_key")
        if out.get("SAFECANVAS_HTTPS") is None:  # served over HTTPS if its public URL says so
            out["SAFECANVAS_HTTPS"] = (out.get("SAFECANVAS_PUBLIC_URL") or "").startswith("https:")
        if not out.get("SAFECANVAS_IP_HASH_SALT"):
            out["SAFECANVAS_IP_HASH_SALT"] = _instance_secret(inst, "ip_hash_salt")
        return out


def _instance_secret(instance: Path, name: str) -> str:
    """A random secret kept in the instance folder, so sessions survive restarts.

    The file is born 0600 (``mkstemp``) and published with ``link``, which fails when another
    process got there first: no moment when others can read it, one value for every worker.
    """
    path = instance / name
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=instance, prefix=f".{name}.")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
            os.link(tmp, path)
        except FileExistsError:
            pass  # another worker created it meanwhile: use theirs
        finally:
            os.unlink(tmp)
    return path.read_text().strip()


def test_config(instance_path: str, **overrides: Any) -> dict:
    """Settings for tests: no background model load, in-memory limits, fast batching."""
    env = {
        "SAFECANVAS_LOAD_MODELS": "off",
        "SAFECANVAS_SECRET_KEY": "test-secret",
        "SAFECANVAS_IP_HASH_SALT": "test-salt",
        "SAFECANVAS_RATE_LIMIT": "1000/minute",
        "SAFECANVAS_FORM_RATE_LIMIT": "1000/minute",
        "SAFECANVAS_BATCH_WAIT_MS": "0",
    }
    cfg = Config.from_env(env, instance_path)
    cfg.update({"TESTING": True, "WTF_CSRF_ENABLED": False})
    cfg.update(overrides)
    return cfg


test_config.__test__ = False  # a factory for tests, not a test: keep pytest from collecting it
