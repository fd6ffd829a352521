"""Fixtures of the web tests: the app on stand-ins for the model and moderation, and API keys.

``fake_app`` is the real app (real database, queue, limits, refusal log) on the stand-ins of
``api_fakes``; ``client`` and ``runner`` talk to it. Settings change per test with
``@pytest.mark.app_config(SAFECANVAS_QUEUE_MAX=1, ...)``. The root ``app`` fixture
(tests/conftest.py) is the app on the real, unloaded model and moderation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask

from tests.webapp.api_fakes import FakeGenerator, FakeModeration


@pytest.fixture
def fake_generator(tmp_path) -> FakeGenerator:
    """The stand-in model of ``fake_app``; tests slow it down or stop it."""
    return FakeGenerator(tmp_path / "models")


@pytest.fixture
def fake_moderation() -> FakeModeration:
    """The stand-in moderation chain of ``fake_app``; ``down = True`` makes it fail."""
    return FakeModeration()


@pytest.fixture
def fake_app(request, tmp_path, monkeypatch, fake_generator, fake_moderation) -> Iterator[Flask]:
    """A migrated app on the stand-ins, in a temporary instance folder."""
    from webapp import create_app
    from webapp.config import test_config
    from webapp.generation_service import get_generation_service
    from webapp.loaded_models import LoadedModels
    from webapp.migrate import upgrade

    marker = request.node.get_closest_marker("app_config")
    cfg = test_config(str(tmp_path), **(marker.kwargs if marker else {}))
    upgrade(cfg["SAFECANVAS_DATABASE_URL"])
    monkeypatch.setenv("SAFECANVAS_INSTANCE_PATH", str(tmp_path))
    app = create_app(cfg, LoadedModels(fake_generator, fake_moderation))
    yield app
    get_generation_service(app).queue.stop(0)  # the worker ends after its batch


@pytest.fixture
def client(fake_app):
    """A test client of ``fake_app``."""
    return fake_app.test_client()


@pytest.fixture
def runner(fake_app):
    """A CLI runner for ``fake_app``'s commands."""
    return fake_app.test_cli_runner()


@pytest.fixture
def make_key(fake_app) -> Callable[..., str]:
    """Makes API keys for ``fake_app``: ``make_key("name", admin=True)``."""
    from webapp.auth import create_api_key
    from webapp.db import session_factory, session_scope

    def make(name: str = "tester", admin: bool = False) -> str:
        """A new key; only its hash is stored."""
        with fake_app.app_context(), session_scope(session_factory(fake_app)) as session:
            _row, key = create_api_key(session, name, is_admin=admin)
        return key

    return make


@pytest.fixture
def api_key(make_key) -> str:
    """A user's API key."""
    return make_key()


@pytest.fixture
def admin_key(make_key) -> str:
    """An admin API key."""
    return make_key("ops", admin=True)


@pytest.fixture
def two_versions(fake_generator, tmp_path):
    """The fake model serves a second version, fake-2, registered in the real registry."""
    import numpy as np
    from safetensors.numpy import save_file

    weights = tmp_path / "lora.safetensors"
    save_file({"lora.down.weight": np.zeros((2, 2), dtype=np.float32)}, str(weights))
    fake_generator.registry.add_adapter(weights, "fake-2", parent="fake-1")
    fake_generator.version_names = ["fake-1", "fake-2"]
    return fake_generator
