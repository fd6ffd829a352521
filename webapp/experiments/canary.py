"""The canary check, run when a job of a canary experiment ends: roll back a worse version.

Per arm it counts the jobs since the arm was (re)started: errors (failed jobs whose cause can
be the version's), image-check refusals and the p95 run time of succeeded jobs. An arm whose
figures are worse than the control's by the experiment's margins, once both have the
minimum sample, loses its traffic at once, and stays off until an administrator acts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from webapp.db import session_scope
from webapp.experiments.stats import percentile
from webapp.experiments.store import RUNNING, ExperimentStore
from webapp.metrics import count_canary_rollback
from webapp.models import Experiment, ExperimentArm, Job, as_utc

log = logging.getLogger(__name__)
ACTOR = "canary check"
COUNTED = ("succeeded", "failed", "refused")  # cancelled jobs say nothing about a version
# Failures a version does not cause: a full queue, a restart, a lost worker, moderation down.
NOT_THE_VERSIONS_FAULT = (
    "queue_full",
    "interrupted",
    "worker_lost",
    "worker_mismatch",
    "moderation_unavailable",
)
LATENCY_WINDOW = 2000  # p95 over the newest succeeded jobs of an arm


@dataclass(frozen=True)
class ArmFigures:
    """What the check compares: counted jobs, errors, image refusals, p95 run time."""

    version: str
    jobs: int
    errors: int
    refusals: int
    p95_s: float | None

    @property
    def error_rate(self) -> float:
        """Errors per counted job."""
        return self.errors / self.jobs if self.jobs else 0.0

    @property
    def refusal_rate(self) -> float:
        """Image-check refusals per counted job."""
        return self.refusals / self.jobs if self.jobs else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON for the event log and the page."""
        data = asdict(self)
        data.update(error_rate=round(self.error_rate, 4), refusal_rate=round(self.refusal_rate, 4))
        return data


def worse_by(canary: ArmFigures, control: ArmFigures, guard: dict[str, Any]) -> list[str]:
    """Why the canary is worse than the control by the guard's margins (empty: it is not).

    Rates are compared by absolute difference (0.05: five percentage points), p95 latency
    by ratio (0.5: more than 1.5 times the control's).
    """
    reasons = []
    if canary.error_rate - control.error_rate > guard["error_margin"]:
        reasons.append(
            f"error rate {canary.error_rate:.1%} vs {control.error_rate:.1%} "
            f"(margin {guard['error_margin']:.1%})"
        )
    if canary.refusal_rate - control.refusal_rate > guard["refusal_margin"]:
        reasons.append(
            f"image-check refusal rate {canary.refusal_rate:.1%} vs {control.refusal_rate:.1%} "
            f"(margin {guard['refusal_margin']:.1%})"
        )
    if canary.p95_s is not None and control.p95_s is not None:
        if canary.p95_s > control.p95_s * (1 + guard["latency_margin"]):
            reasons.append(
                f"p95 latency {canary.p95_s:.2f} s vs {control.p95_s:.2f} s "
                f"(margin +{guard['latency_margin']:.0%})"
            )
    return reasons


def arm_figures(session: Session, exp_id: int, version: str, since: datetime) -> ArmFigures:
    """Count one arm's jobs of the experiment created since ``since``."""
    counted = (
        Job.experiment_id == exp_id,
        Job.experiment_arm == version,
        Job.created_at >= since,
        Job.status.in_(COUNTED),
        (Job.error_code.is_(None)) | (Job.error_code.not_in(NOT_THE_VERSIONS_FAULT)),
    )
    by_status = dict(
        session.execute(select(Job.status, func.count()).where(*counted).group_by(Job.status)).all()
    )
    rows = session.execute(
        select(Job.started_at, Job.finished_at)
        .where(*counted, Job.status == "succeeded", Job.started_at.is_not(None))
        .order_by(Job.finished_at.desc())
        .limit(LATENCY_WINDOW)
    ).all()
    durations = [(as_utc(end) - as_utc(start)).total_seconds() for start, end in rows]
    return ArmFigures(
        version=version,
        jobs=sum(by_status.values()),
        errors=by_status.get("failed", 0),
        refusals=by_status.get("refused", 0),
        p95_s=percentile(durations, 0.95),
    )


def check_jobs(factory: sessionmaker, job_ids: Iterable[str]) -> None:
    """After jobs ended: check the running canary they belonged to, if any."""
    ids = list(job_ids)
    with session_scope(factory) as session:
        exp = session.scalar(
            select(Experiment)
            .join(Job, Job.experiment_id == Experiment.id)
            .where(Job.id.in_(ids), Experiment.status == RUNNING, Experiment.kind == "canary")
            .limit(1)
        )
        if exp is None:
            return
        exp_id, control, guard = exp.id, exp.control, dict(exp.guard or {})
        arms = session.execute(
            select(ExperimentArm.version, ExperimentArm.since).where(
                ExperimentArm.experiment_id == exp_id,
                ExperimentArm.state == "on",
                ExperimentArm.version != control,
                ExperimentArm.weight > 0,
            )
        ).all()
        checks = [
            (arm_figures(session, exp_id, v, since), arm_figures(session, exp_id, control, since))
            for v, since in arms
        ]
    store = ExperimentStore(factory)
    for canary, ctl in checks:
        _judge(store, exp_id, guard, canary, ctl)


def _judge(
    store: ExperimentStore, exp_id: int, guard: dict, canary: ArmFigures, ctl: ArmFigures
) -> None:
    """Record the figures; roll the arm back when the sample suffices and it is worse."""
    figures = {"canary": canary.to_dict(), "control": ctl.to_dict(), "guard": guard}
    if min(canary.jobs, ctl.jobs) < guard["min_sample"]:
        store.record_check(exp_id, canary.version, {**figures, "verdict": "collecting"})
        return
    reasons = worse_by(canary, ctl, guard)
    verdict = "rolled back" if reasons else "healthy"
    store.record_check(exp_id, canary.version, {**figures, "verdict": verdict, "reasons": reasons})
    if reasons and store.roll_back(exp_id, canary.version, ACTOR, {**figures, "reasons": reasons}):
        count_canary_rollback(canary.version)
        log.warning(
            "canary rollback: experiment %d, version %s, %s; canary %s, control %s",
            exp_id,
            canary.version,
            "; ".join(reasons),
            canary.to_dict(),
            ctl.to_dict(),
        )
