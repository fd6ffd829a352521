"""The experiment page's figures per version: traffic, latency, errors, refusals, thumbs up.

Errors and thumbs-up rates are compared with the control by a two-sided two-proportion
z-test at the 5% level; each thumbs-up rate carries its 95% Wilson interval.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webapp.experiments.canary import COUNTED, NOT_THE_VERSIONS_FAULT
from webapp.experiments.stats import Comparison, percentile, two_proportion_test, wilson
from webapp.models import Image, ImageFeedback, Job, Refusal, as_utc

LATENCY_ROWS = 20_000  # run times read per experiment, newest first


@dataclass
class VersionReport:
    """One arm's figures over the whole experiment."""

    version: str
    weight: int
    state: str
    control: bool
    requests: int = 0  # every job the arm got
    counted: int = 0  # jobs that say something about the version (as the canary counts them)
    errors: int = 0
    p50_s: float | None = None
    p95_s: float | None = None
    refusals: dict[str, int] = field(default_factory=dict)  # stage (or outcome) -> entries
    thumbs_up: int = 0
    votes: int = 0
    last_check: dict | None = None
    error_test: Comparison | None = None
    thumbs_test: Comparison | None = None

    @property
    def error_rate(self) -> float | None:
        """Errors per counted job."""
        return self.errors / self.counted if self.counted else None

    @property
    def thumbs_up_rate(self) -> float | None:
        """Thumbs up per vote (up or down)."""
        return self.thumbs_up / self.votes if self.votes else None

    @property
    def thumbs_interval(self) -> tuple[float, float] | None:
        """The 95% Wilson interval of the thumbs-up rate."""
        return wilson(self.thumbs_up, self.votes)

    def to_dict(self) -> dict[str, Any]:
        """JSON for the admin API."""

        def test(result: Comparison | None) -> dict[str, Any] | None:
            if result is None:
                return None
            return {
                "difference": result.difference,
                "z": result.z,
                "p_value": result.p_value,
                "significant": result.significant,
            }

        return {
            "version": self.version,
            "weight": self.weight,
            "state": self.state,
            "control": self.control,
            "requests": self.requests,
            "counted": self.counted,
            "errors": self.errors,
            "error_rate": self.error_rate,
            "p50_s": self.p50_s,
            "p95_s": self.p95_s,
            "refusals": self.refusals,
            "thumbs_up": self.thumbs_up,
            "votes": self.votes,
            "thumbs_up_rate": self.thumbs_up_rate,
            "thumbs_up_interval": self.thumbs_interval,
            "error_test": test(self.error_test),
            "thumbs_up_test": test(self.thumbs_test),
        }


def build_report(session: Session, exp: dict[str, Any]) -> list[VersionReport]:
    """Figures for every arm of an experiment (``ExperimentStore.get``'s dict), control first."""
    arms = {
        a["version"]: VersionReport(
            a["version"], a["weight"], a["state"], a["version"] == exp["control"]
        )
        for a in exp["arms"]
    }
    for arm in arms.values():
        arm.last_check = next(a["last_check"] for a in exp["arms"] if a["version"] == arm.version)
    in_exp = Job.experiment_id == exp["id"]
    _count_jobs(session, in_exp, arms)
    _latencies(session, in_exp, arms)
    _refusals(session, in_exp, arms)
    _feedback(session, in_exp, arms)
    control = arms.get(exp["control"])
    for arm in arms.values():
        if control is not None and not arm.control:
            arm.error_test = two_proportion_test(
                arm.errors, arm.counted, control.errors, control.counted
            )
            arm.thumbs_test = two_proportion_test(
                arm.thumbs_up, arm.votes, control.thumbs_up, control.votes
            )
    return sorted(arms.values(), key=lambda a: not a.control)


def _count_jobs(session: Session, in_exp, arms: dict[str, VersionReport]) -> None:
    """Requests per arm, and the counted jobs and errors as the canary check sees them."""
    for version, n in session.execute(
        select(Job.experiment_arm, func.count()).where(in_exp).group_by(Job.experiment_arm)
    ):
        if version in arms:
            arms[version].requests = n
    counted = (
        in_exp,
        Job.status.in_(COUNTED),
        Job.error_code.is_(None) | Job.error_code.not_in(NOT_THE_VERSIONS_FAULT),
    )
    for version, status, n in session.execute(
        select(Job.experiment_arm, Job.status, func.count())
        .where(*counted)
        .group_by(Job.experiment_arm, Job.status)
    ):
        if version in arms:
            arms[version].counted += n
            arms[version].errors += n if status == "failed" else 0


def _latencies(session: Session, in_exp, arms: dict[str, VersionReport]) -> None:
    """p50 and p95 run time (started → finished) of succeeded jobs."""
    times: dict[str, list[float]] = defaultdict(list)
    rows = session.execute(
        select(Job.experiment_arm, Job.started_at, Job.finished_at)
        .where(in_exp, Job.status == "succeeded", Job.started_at.is_not(None))
        .order_by(Job.finished_at.desc())
        .limit(LATENCY_ROWS)
    )
    for version, start, end in rows:
        times[version].append((as_utc(end) - as_utc(start)).total_seconds())
    for version, values in times.items():
        if version in arms:
            arms[version].p50_s = percentile(values, 0.5)
            arms[version].p95_s = percentile(values, 0.95)


def _refusals(session: Session, in_exp, arms: dict[str, VersionReport]) -> None:
    """Moderation log entries of the arm's jobs: refused by stage, guarded, user reports."""
    rows = session.execute(
        select(Job.experiment_arm, Refusal.outcome, Refusal.stage, func.count())
        .join(Job, Job.id == Refusal.job_id)
        .where(in_exp)
        .group_by(Job.experiment_arm, Refusal.outcome, Refusal.stage)
    )
    for version, outcome, stage, n in rows:
        if version in arms:
            key = stage if outcome == "refused" else outcome
            arms[version].refusals[key] = arms[version].refusals.get(key, 0) + n


def _feedback(session: Session, in_exp, arms: dict[str, VersionReport]) -> None:
    """Thumbs up and down given on the arm's images (a cleared vote is no vote)."""
    rows = session.execute(
        select(Job.experiment_arm, ImageFeedback.vote, func.count())
        .join(Image, Image.id == ImageFeedback.image_id)
        .join(Job, Job.id == Image.job_id)
        .where(in_exp, ImageFeedback.vote != 0)
        .group_by(Job.experiment_arm, ImageFeedback.vote)
    )
    for version, vote, n in rows:
        if version in arms:
            arms[version].votes += n
            arms[version].thumbs_up += n if vote > 0 else 0
