"""Experiments over model versions: traffic splits, canaries with automatic rollback.

``Experiments`` is what the admin page, the admin JSON API and the CLI call; the generation
service asks it which version a requester gets (``assign``), and ``webapp.experiments.canary``
checks a canary each time one of its jobs ends.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

from generation.errors import GenerationError
from webapp.db import session_factory, session_scope
from webapp.errors import Conflict, InvalidRequest
from webapp.experiments.assign import bucket, pick
from webapp.experiments.report import VersionReport, build_report
from webapp.experiments.store import ENDINGS, ExperimentStore
from webapp.loaded_models import get_loaded_models

log = logging.getLogger(__name__)
EXTENSION = "safecanvas.experiments"
KINDS = ("split", "canary")
MAX_WEIGHT = 10_000
GUARD_BOUNDS = {  # name -> (config key, low, high)
    "min_sample": ("SAFECANVAS_CANARY_MIN_SAMPLE", 1, 1_000_000),
    "error_margin": ("SAFECANVAS_CANARY_ERROR_MARGIN", 0.0, 1.0),
    "refusal_margin": ("SAFECANVAS_CANARY_REFUSAL_MARGIN", 0.0, 1.0),
    "latency_margin": ("SAFECANVAS_CANARY_LATENCY_MARGIN", 0.0, 100.0),
}


@dataclass(frozen=True)
class Assignment:
    """The version an experiment gave a request, and which experiment."""

    experiment_id: int
    version: str


class Experiments:
    """Starts, changes and ends experiments for one app, and assigns requesters to arms."""

    def __init__(self, app: Flask) -> None:
        """Bind to the app's database, config and model registry."""
        self.app = app
        self.store = ExperimentStore(session_factory(app))

    @property
    def generator(self):
        """The app's generator: its versions and registry."""
        return get_loaded_models(self.app).generator

    def assign(self, requester: str) -> Assignment | None:
        """The running experiment's arm for this requester (None: no experiment, or no weight)."""
        split = self.store.running_split()
        if split is None:
            return None
        version = pick(split.arms, bucket(split.id, requester))
        if version is None:
            return None
        if version not in self.generator.versions():  # removed since: serve the active one
            log.warning("experiment %d: version %r is not installed", split.id, version)
            return None
        return Assignment(split.id, version)

    def start(self, body: dict[str, Any], actor: str) -> dict[str, Any]:
        """Start an experiment from ``{"weights", "kind", "control", "name", guard fields}``.

        Raises:
            InvalidRequest: naming the field; Conflict while another experiment runs.
        """
        kind = body.get("kind", "split")
        if not isinstance(kind, str) or kind not in KINDS:
            raise InvalidRequest("'kind' must be 'split' or 'canary'.", param="kind")
        weights = self.parse_weights(body.get("weights"))
        if len(weights) < 2:
            raise InvalidRequest("'weights' needs at least two versions.", param="weights")
        control = body.get("control") or self.generator.active_version
        if not isinstance(control, str) or control not in weights:
            raise InvalidRequest(
                f"The control {control!r} must be one of the weighted versions.", param="control"
            )
        if kind == "canary" and weights[control] == 0:
            raise InvalidRequest("A canary's control needs traffic to compare with.", "weights")
        name = body.get("name") or " / ".join(f"{v} {w}" for v, w in weights.items())
        if not isinstance(name, str) or len(name) > 120:
            raise InvalidRequest("'name' must be a string of at most 120 characters.", "name")
        guard = self.parse_guard(body) if kind == "canary" else None
        exp_id = self.store.start(name, kind, control, weights, guard, actor)
        log.info("experiment %d started by %s: %s %s", exp_id, actor, kind, weights)
        return self.store.get(exp_id)

    def set_weights(self, exp_id: int, weights: Any, actor: str) -> dict[str, Any]:
        """New weights for a running experiment (a rolled-back canary comes back on with some)."""
        self.store.set_weights(exp_id, self.parse_weights(weights, fresh=False), actor)
        return self.store.get(exp_id)

    def roll_back(self, exp_id: int, version: str, actor: str) -> dict[str, Any]:
        """An admin takes an arm's traffic away (it stays off until given weight again)."""
        exp = self.store.get(exp_id)
        if exp["status"] != "running":
            raise Conflict(f"Experiment {exp_id} has ended ({exp['status']}).")
        if version == exp["control"]:
            raise InvalidRequest("The control cannot be rolled back; abandon instead.", "version")
        if version not in {a["version"] for a in exp["arms"]}:
            raise InvalidRequest(f"{version!r} is not an arm of this experiment.", "version")
        if self.store.roll_back(exp_id, version, actor, {"reason": "by an administrator"}):
            log.warning("experiment %d: %s rolled back by %s", exp_id, version, actor)
        return self.store.get(exp_id)

    def end(self, exp_id: int, action: Any, winner: Any, actor: str) -> dict[str, Any]:
        """Promote a winner (it becomes the active version) or abandon; history keeps it."""
        if not isinstance(action, str) or action not in ENDINGS:
            raise InvalidRequest("'action' must be 'promote' or 'abandon'.", param="action")
        exp = self.store.get(exp_id)
        if action == "promote":
            if not isinstance(winner, str) or winner not in {a["version"] for a in exp["arms"]}:
                raise InvalidRequest("'winner' must be one of the experiment's versions.", "winner")
            if exp["status"] == "running" and winner != self.generator.active_version:
                try:
                    self.generator.registry.activate(winner)
                except GenerationError as exc:
                    raise InvalidRequest(f"Cannot activate {winner!r}: {exc}", "winner") from None
        else:
            winner = None
        self.store.end(exp_id, action, winner, actor)
        log.info("experiment %d %s by %s (winner %s)", exp_id, ENDINGS[action], actor, winner)
        return self.store.get(exp_id)

    def report(self, exp: dict[str, Any]) -> list[VersionReport]:
        """Per-version figures of an experiment (``store.get``'s dict), the control first."""
        with session_scope(self.store.factory) as session:
            return build_report(session, exp)

    # -- input ---------------------------------------------------------------------------
    def parse_weights(self, raw: Any, fresh: bool = True) -> dict[str, int]:
        """``{"version": weight}`` with whole weights 0..10000.

        ``fresh``: for a new experiment, whose versions must be installed and get some traffic
        in total (a change of weights may name some arms only; the store checks the total).
        """
        if not isinstance(raw, dict) or not raw:
            raise InvalidRequest("'weights' must map version names to weights.", "weights")
        known = set(self.generator.versions()) if fresh else None
        weights: dict[str, int] = {}
        for version, weight in raw.items():
            if known is not None and version not in known:
                raise InvalidRequest(f"Unknown model version {version!r}.", param="weights")
            if not isinstance(weight, int) or isinstance(weight, bool):
                raise InvalidRequest(f"The weight of {version!r} must be an integer.", "weights")
            if not 0 <= weight <= MAX_WEIGHT:
                raise InvalidRequest(f"Weights must be between 0 and {MAX_WEIGHT}.", "weights")
            weights[version] = weight
        if fresh and sum(weights.values()) == 0:
            raise InvalidRequest("At least one weight must be above 0.", param="weights")
        return weights

    def parse_guard(self, body: dict[str, Any]) -> dict[str, Any]:
        """A canary's rollback rule: the request's values, else the configured defaults."""
        guard: dict[str, Any] = {}
        for name, (key, low, high) in GUARD_BOUNDS.items():
            value = body.get(name, self.app.config[key])
            whole = isinstance(low, int) and not isinstance(low, bool)
            kinds = (int,) if whole else (int, float)
            if not isinstance(value, kinds) or isinstance(value, bool) or not low <= value <= high:
                article = "an integer" if whole else "a number"
                raise InvalidRequest(f"'{name}' must be {article} from {low} to {high}.", name)
            guard[name] = value
        return guard


def init_app(app: Flask) -> None:
    """Attach the experiments of this app."""
    app.extensions[EXTENSION] = Experiments(app)


def get_experiments(app: Flask | None = None) -> Experiments:
    """The current app's experiments."""
    return (app or current_app).extensions[EXTENSION]
