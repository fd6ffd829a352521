"""A real server on a free loopback port (real model, real moderation) and one headless Chromium."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import service_missing

CHROMIUM = os.environ.get("SAFECANVAS_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("SAFECANVAS_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
ADMIN = ("admin", "browser-test-password")
# Another model folder than the shipped default (say, while the default is being trained).
DEV_MODEL_DIR = os.environ.get("SAFECANVAS_TEST_MODEL_DIR")
# No network, no background services: the browser talks to our loopback server only.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
)


@dataclass(frozen=True)
class LiveServer:
    """Where the app answers, and the app itself (for its config and loaded models)."""

    url: str
    app: object


@pytest.fixture(scope="module")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    """The app with the real default model and moderation, served by werkzeug in a thread."""
    from webapp import create_app
    from webapp.config import test_config
    from webapp.loaded_models import get_loaded_models
    from webapp.migrate import upgrade

    instance = tmp_path_factory.mktemp("instance")
    cfg = test_config(
        str(instance),
        SAFECANVAS_LOAD_MODELS="eager",
        **({"SAFECANVAS_MODEL_DIR": DEV_MODEL_DIR} if DEV_MODEL_DIR else {}),
        SAFECANVAS_REFUSAL_LIMIT="100/minute",
        WTF_CSRF_ENABLED=True,  # the browser goes through the real CSRF check
        TESTING=False,
    )
    upgrade(cfg["SAFECANVAS_DATABASE_URL"])
    with pytest.MonkeyPatch.context() as env:  # module-scoped, so not the monkeypatch fixture
        env.setenv("SAFECANVAS_INSTANCE_PATH", str(instance))
        app = create_app(cfg)
    load_error = get_loaded_models(app).load_error
    if load_error:
        pytest.fail(f"the default model or moderation did not load: {load_error}")
    with serving(app) as live:
        yield live


@pytest.fixture(scope="module")
def guarding_server(tmp_path_factory) -> Iterator[LiveServer]:
    """The app on the web tests' stand-ins, whose moderation guards 'borderline' prompts.

    For pages about how a guarded result looks, where which prompt a classifier guards is not
    the point (tests/webapp/api_fakes.py).
    """
    from tests.webapp.api_fakes import FakeGenerator, FakeModeration
    from webapp import create_app
    from webapp.config import test_config
    from webapp.loaded_models import LoadedModels
    from webapp.migrate import upgrade

    instance = tmp_path_factory.mktemp("instance")
    cfg = test_config(str(instance), WTF_CSRF_ENABLED=True, TESTING=False)
    upgrade(cfg["SAFECANVAS_DATABASE_URL"])
    models = LoadedModels(FakeGenerator(instance / "models", step_s=0.05), FakeModeration())
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SAFECANVAS_INSTANCE_PATH", str(instance))
        app = create_app(cfg, models)
    with serving(app) as live:
        yield live


@contextmanager
def serving(app) -> Iterator[LiveServer]:
    """Serve ``app`` with werkzeug in a thread, with an admin account, until the block ends."""
    from werkzeug.serving import make_server

    from webapp.generation_service import get_generation_service

    result = app.test_cli_runner().invoke(args=["create-admin", ADMIN[0], "--password", ADMIN[1]])
    assert result.exit_code == 0, result.output
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app)
    finally:
        server.shutdown()
        get_generation_service(app).queue.stop()


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module, with a throw-away profile."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if missing:
        service_missing("Chromium", FileNotFoundError(f"not installed: {', '.join(missing)}"))
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="safecanvas-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # console, CSP reports
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def submit_admin_login(browser) -> None:
    """Log in as ADMIN on the login page that is open, and wait until the login is done.

    The click only starts the form's POST: a ``browser.get`` right after it can abort the
    POST before its session cookie arrives, so wait until the browser has left the page.
    """
    browser.find_element(By.ID, "username").send_keys(ADMIN[0])
    browser.find_element(By.ID, "password").send_keys(ADMIN[1])
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    WebDriverWait(browser, 30).until(
        lambda d: "/admin/login" not in d.current_url, "the admin login did not go through"
    )
