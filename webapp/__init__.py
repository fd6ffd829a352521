"""SafeCanvas web app: ``create_app()`` builds a configured Flask application."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from textencoder.runtime import sleep_idle_openmp_threads

# Before anything imports torch: request threads and the generation worker each run an OpenMP
# team, and spinning idle teams took the cores from the working one.
sleep_idle_openmp_threads()

from flask import Flask  # noqa: E402

from webapp import logs  # noqa: E402
from webapp.config import Config, ConfigError  # noqa: E402

if TYPE_CHECKING:
    from webapp.loaded_models import LoadedModels

__all__ = ["create_app", "ConfigError"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Every request body: larger ones get 413 before they are read (the proxy says 1m too).
MAX_REQUEST_BYTES = 1024 * 1024


def create_app(config: dict[str, Any] | None = None, models: LoadedModels | None = None) -> Flask:
    """Build the app; ``config`` (tests) replaces the environment-derived settings.

    ``models`` replaces the configured model and moderation chain (tests give stand-ins that
    satisfy ``webapp.interfaces``).

    Raises:
        ConfigError: a ``SAFECANVAS_*`` variable is malformed (named in the message).
    """
    app = Flask(
        __name__,
        instance_path=os.environ.get("SAFECANVAS_INSTANCE_PATH", os.path.join(ROOT, "instance")),
        template_folder=os.path.join(ROOT, "templates"),
        static_folder=os.path.join(ROOT, "static"),
    )
    settings = config if config is not None else Config.from_env(instance_path=app.instance_path)
    app.config.update(settings)
    app.config["SECRET_KEY"] = app.config["SAFECANVAS_SECRET_KEY"]
    # Flask defines MAX_CONTENT_LENGTH as None, so a setdefault never applied: set it.
    app.config["MAX_CONTENT_LENGTH"] = settings.get("MAX_CONTENT_LENGTH") or MAX_REQUEST_BYTES
    if app.config["SAFECANVAS_TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["SAFECANVAS_TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    os.makedirs(app.instance_path, exist_ok=True)
    logs.configure(app.config["SAFECANVAS_LOG_LEVEL"], app.config["SAFECANVAS_LOG_FORMAT"])

    from webapp import (
        auth,
        browser,
        cli,
        db,
        errors,
        experiments,
        feedback,
        generation_service,
        health,
        image_store,
        limits,
        loaded_models,
        metrics,
        policy,
        refusal_log,
        request_log,
        schema,
        studio,
    )
    from webapp.admin import experiments as experiment_pages
    from webapp.admin import routes as admin_pages
    from webapp.api import admin as admin_api
    from webapp.api import experiments as experiments_api
    from webapp.api import openai as openai_api
    from webapp.api import openapi, signed_images
    from webapp.api import routes as api

    # App-wide parts: each module's init_app binds it to this app (state in app.extensions).
    request_log.init_app(app)  # first: every later hook's log lines carry the request id
    db.init_app(app)
    image_store.init_app(app)
    errors.init_app(app)
    schema.init_app(app)  # before any hook that reads a table
    loaded_models.init_app(app, models)
    auth.init_app(app)
    limits.init_app(app)
    refusal_log.init_app(app)
    feedback.init_app(app)
    experiments.init_app(app)  # before the generation service, which assigns through it
    generation_service.init_app(app)
    browser.init_app(app)
    policy.init_app(app)
    cli.init_app(app)
    # Blueprints: each module holds its views and its `bp`.
    areas = (health, metrics, api, signed_images, admin_api, experiments_api, openai_api, openapi)
    areas += (studio, policy)
    for area in (*areas, admin_pages, experiment_pages):
        app.register_blueprint(area.bp)
    return app
