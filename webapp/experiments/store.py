"""Experiment rows: start, reweigh, roll an arm back, end; every method is one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from webapp.db import session_scope
from webapp.errors import Conflict, InvalidRequest, NotFound
from webapp.models import Experiment, ExperimentArm, ExperimentEvent, utcnow

RUNNING = "running"
MAX_ID = 2**31 - 1  # ids past any integer column are simply not found (SQLite overflows)
ENDINGS = {"promote": "promoted", "abandon": "abandoned"}


@dataclass(frozen=True)
class RunningSplit:
    """What assignment needs of the running experiment: its id and arms in order."""

    id: int
    arms: tuple[tuple[str, int], ...]


class ExperimentStore:
    """The experiment tables of one database."""

    def __init__(self, factory: sessionmaker) -> None:
        """Use the app's session factory."""
        self.factory = factory

    def running_split(self) -> RunningSplit | None:
        """The running experiment's arms and weights (None when none runs)."""
        with session_scope(self.factory) as session:
            exp_id = session.scalar(select(Experiment.id).where(Experiment.status == RUNNING))
            if exp_id is None:
                return None
            arms = session.execute(
                select(ExperimentArm.version, ExperimentArm.weight)
                .where(ExperimentArm.experiment_id == exp_id)
                .order_by(ExperimentArm.id)
            ).all()
            return RunningSplit(exp_id, tuple((v, w) for v, w in arms))

    def start(
        self,
        name: str,
        kind: str,
        control: str,
        weights: dict[str, int],
        guard: dict[str, Any] | None,
        actor: str,
    ) -> int:
        """Store a running experiment; 409 while another one runs."""
        with session_scope(self.factory) as session:
            running = session.scalar(select(Experiment.id).where(Experiment.status == RUNNING))
            if running is not None:
                raise Conflict(f"Experiment {running} is running; end it first.")
            exp = Experiment(
                name=name, kind=kind, status=RUNNING, control=control, guard=guard, created_by=actor
            )
            session.add(exp)
            session.flush()
            now = utcnow()
            for version, weight in weights.items():
                session.add(
                    ExperimentArm(
                        experiment_id=exp.id, version=version, weight=weight, state="on", since=now
                    )
                )
            details = {"weights": weights, "control": control, "kind": kind, "guard": guard}
            self._event(session, exp.id, "started", None, actor, details)
            return exp.id

    def set_weights(self, exp_id: int, weights: dict[str, int], actor: str) -> None:
        """New weights for a running experiment's arms; a rolled-back arm given weight is back on.

        Its canary count starts afresh, so the jobs that rolled it back do not do so again.
        """
        with session_scope(self.factory) as session:
            exp = self._running(session, exp_id)
            arms = {a.version: a for a in self._arms(session, exp.id)}
            unknown = sorted(set(weights) - set(arms))
            if unknown:
                message = f"{unknown[0]!r} is not an arm of experiment {exp_id}."
                raise InvalidRequest(message, param="weights")
            for version, weight in weights.items():
                arm = arms[version]
                if arm.state == "rolled_back" and weight > 0:
                    arm.state, arm.since, arm.last_check = "on", utcnow(), None
                arm.weight = weight
            if sum(a.weight for a in arms.values()) == 0:
                raise InvalidRequest("At least one weight must be above 0.", param="weights")
            self._event(session, exp.id, "weights", None, actor, {"weights": weights})

    def roll_back(self, exp_id: int, version: str, actor: str, details: dict[str, Any]) -> bool:
        """Give an arm weight 0 and mark it rolled back; False when it was not on (no repeat)."""
        with session_scope(self.factory) as session:
            changed = session.execute(
                update(ExperimentArm)
                .where(
                    ExperimentArm.experiment_id == exp_id,
                    ExperimentArm.version == version,
                    ExperimentArm.state == "on",
                )
                .values(state="rolled_back", weight=0)
            ).rowcount
            if changed:
                self._event(session, exp_id, "rollback", version, actor, details)
            return changed == 1

    def record_check(self, exp_id: int, version: str, figures: dict[str, Any]) -> None:
        """Keep the latest canary check of an arm, for the page."""
        with session_scope(self.factory) as session:
            session.execute(
                update(ExperimentArm)
                .where(ExperimentArm.experiment_id == exp_id, ExperimentArm.version == version)
                .values(last_check=figures)
            )

    def end(self, exp_id: int, action: str, winner: str | None, actor: str) -> None:
        """Promote (``winner`` becomes the active version elsewhere) or abandon; once only."""
        with session_scope(self.factory) as session:
            exp = self._running(session, exp_id)
            exp.status, exp.winner = ENDINGS[action], winner
            exp.ended_at, exp.ended_by = utcnow(), actor
            self._event(session, exp.id, ENDINGS[action], winner, actor, {})

    def get(self, exp_id: int) -> dict[str, Any]:
        """One experiment with its arms and events; 404 when there is none."""
        with session_scope(self.factory) as session:
            return self._as_dict(session, self._find(session, exp_id), events=True)

    def history(self, limit: int = 100) -> list[dict[str, Any]]:
        """Experiments newest first, the running one included."""
        with session_scope(self.factory) as session:
            rows = session.scalars(select(Experiment).order_by(Experiment.id.desc()).limit(limit))
            return [self._as_dict(session, exp, events=False) for exp in rows]

    def running_id(self) -> int | None:
        """The running experiment's id."""
        with session_scope(self.factory) as session:
            return session.scalar(select(Experiment.id).where(Experiment.status == RUNNING))

    # -- helpers -------------------------------------------------------------------------
    @staticmethod
    def _find(session: Session, exp_id: int) -> Experiment:
        exp = session.get(Experiment, exp_id) if 0 < exp_id <= MAX_ID else None
        if exp is None:
            raise NotFound(f"No experiment {exp_id}.")
        return exp

    def _running(self, session: Session, exp_id: int) -> Experiment:
        exp = self._find(session, exp_id)
        if exp.status != RUNNING:
            raise Conflict(f"Experiment {exp_id} has ended ({exp.status}).")
        return exp

    @staticmethod
    def _arms(session: Session, exp_id: int) -> list[ExperimentArm]:
        stmt = select(ExperimentArm).where(ExperimentArm.experiment_id == exp_id)
        return list(session.scalars(stmt.order_by(ExperimentArm.id)))

    @staticmethod
    def _event(session: Session, exp_id: int, kind: str, version, actor: str, details) -> None:
        session.add(
            ExperimentEvent(
                experiment_id=exp_id, kind=kind, version=version, actor=actor, details=details
            )
        )

    def _as_dict(self, session: Session, exp: Experiment, events: bool) -> dict[str, Any]:
        data = {
            "id": exp.id,
            "name": exp.name,
            "kind": exp.kind,
            "status": exp.status,
            "control": exp.control,
            "guard": exp.guard,
            "created_by": exp.created_by,
            "created_at": exp.created_at.isoformat(),
            "ended_by": exp.ended_by,
            "ended_at": exp.ended_at.isoformat() if exp.ended_at else None,
            "winner": exp.winner,
            "arms": [
                {
                    "version": a.version,
                    "weight": a.weight,
                    "state": a.state,
                    "since": a.since.isoformat(),
                    "last_check": a.last_check,
                }
                for a in self._arms(session, exp.id)
            ],
        }
        if events:
            stmt = select(ExperimentEvent).where(ExperimentEvent.experiment_id == exp.id)
            data["events"] = [
                {
                    "at": e.created_at.isoformat(),
                    "kind": e.kind,
                    "version": e.version,
                    "actor": e.actor,
                    "details": e.details,
                }
                for e in session.scalars(stmt.order_by(ExperimentEvent.id))
            ]
        return data
