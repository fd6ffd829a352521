"""Database tables. Schema changes go through an Alembic migration in webapp/migrations."""

from __future__ import annotations

from datetime import datetime, timezone

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# What the moderation log holds (Refusal.outcome): a refused request, one generated with
# safeguards (a guard verdict) and kept for review, or an image a user reported.
OUTCOMES = ("refused", "guarded", "reported")
# The stage of a user's report in the moderation log (the others are safety.verdict.STAGES).
USER_REPORT = "user_report"
# An image's vote (ImageFeedback.vote): thumbs up, none (cleared) or thumbs down.
VOTES = {"up": 1, "none": 0, "down": -1}
# What an admin may mark a log entry (Refusal.review_status). ``should_refuse`` is for guarded
# entries: the safeguards were not enough. docs/moderation.md says what each mark means as a
# training label (``python -m safety export-reviews``).
REVIEW_STATUSES = ("unreviewed", "confirmed", "false_positive", "should_refuse")


def utcnow() -> datetime:
    """Timezone-aware now, the only clock the tables use."""
    return datetime.now(timezone.utc)


def as_utc(value: datetime | None) -> datetime | None:
    """An aware UTC datetime; a naive one is taken to be UTC already.

    Raises:
        OverflowError: the value is out of range once moved to UTC (e.g. year 1, UTC+1).
    """
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timestamp column that stores UTC and reads back aware UTC datetimes on any database.

    SQLite keeps no time zone, so it hands back naive values; PostgreSQL answers in the
    session's zone. Comparisons with this column convert their operand the same way.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """To UTC before it is stored or compared."""
        return as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Aware UTC as it is read."""
        return as_utc(value)


class Base(DeclarativeBase):
    """Declarative base of every table."""


class User(UserMixin, Base):
    """A person who logs in to the browser UI (admins review refusals)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # Part of every session cookie (get_id); logout and password changes bump it.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def get_id(self) -> str:
        """What a session cookie holds: the id and the session version it was issued at."""
        return f"{self.id}:{self.session_version or 0}"


class ApiKey(Base):
    """An API key; only its hash is stored, the key itself is shown once."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Job(Base):
    """One generation request and its lifecycle (queued → running → final state)."""

    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    requester: Mapped[str] = mapped_column(String(120), index=True)
    source: Mapped[str] = mapped_column(String(16))  # form, api, openai
    status: Mapped[str] = mapped_column(String(16), index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    params: Mapped[dict] = mapped_column(JSON)
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    refusal_id: Mapped[int | None] = mapped_column(ForeignKey("refusals.id"), nullable=True)
    # How its prompt was judged (webapp.safeguards.job_moderation): the action, categories, the
    # safeguards it runs with and its moderation log entry; None for rows older than graded
    # verdicts, which were all allowed.
    moderation: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # The process whose queue holds the job ("host:pid:start time"), to find orphans on restart.
    worker: Mapped[str | None] = mapped_column(String(120), nullable=True)
    # The X-Request-ID of the request that made it (webapp.request_log), to find its log lines.
    request_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    # How often a worker started it: a job whose worker died is started once more, then failed.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    model_version: Mapped[str | None] = mapped_column(String(200), nullable=True)
    moderator_version: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # The experiment that chose its version, and the arm (version) it drew; None when no
    # experiment ran or the request named its ``model`` itself.
    experiment_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    experiment_arm: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Image(Base):
    """A generated image that passed the image check and may be served to its owner."""

    __tablename__ = "images"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    requester: Mapped[str] = mapped_column(String(120), index=True)
    position: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(BigInteger)  # seeds span 0..2**32-1
    path: Mapped[str] = mapped_column(String(500))
    prompt: Mapped[str] = mapped_column(Text)
    model_version: Mapped[str] = mapped_column(String(200))
    moderator_version: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ImageBlob(Base):
    """The PNG bytes of an image when the database is the image store."""

    __tablename__ = "image_blobs"
    image_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    job_id: Mapped[str] = mapped_column(String(36), index=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Refusal(Base):
    """An entry of the moderation log: a refused prompt or image, or a guarded prompt, with why.

    Reviewed by an admin; the table keeps its first name, ``refusals``.
    """

    __tablename__ = "refusals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    outcome: Mapped[str] = mapped_column(
        String(16), default="refused", server_default="refused", index=True
    )
    stage: Mapped[str] = mapped_column(String(16), index=True)
    categories: Mapped[list] = mapped_column(JSON)
    scores: Mapped[dict] = mapped_column(JSON)
    matched_terms: Mapped[list] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    prompt: Mapped[str] = mapped_column(Text)
    negative_prompt: Mapped[str] = mapped_column(Text, default="")
    requester: Mapped[str] = mapped_column(String(120), index=True)
    source: Mapped[str] = mapped_column(String(16))
    model_version: Mapped[str | None] = mapped_column(String(200), nullable=True)
    moderator_version: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(16), default="", server_default="")
    # The job a guarded prompt or a refused image belongs to (none for a refused prompt).
    job_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    # The image a user report is about (none for the other entries).
    image_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    review_status: Mapped[str] = mapped_column(String(16), default="unreviewed", index=True)
    reviewer: Mapped[str | None] = mapped_column(String(80), nullable=True)
    review_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ImageFeedback(Base):
    """One requester's feedback on one image: a vote (changeable) and at most one report."""

    __tablename__ = "image_feedback"
    __table_args__ = (UniqueConstraint("image_id", "requester", name="uq_image_feedback_voter"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id"), index=True)
    requester: Mapped[str] = mapped_column(String(120), index=True)
    # 1 thumbs up, -1 thumbs down, 0 no vote (cleared, or a report without a vote).
    vote: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    # The moderation log entry of this requester's report, when they reported the image.
    report_id: Mapped[int | None] = mapped_column(ForeignKey("refusals.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Experiment(Base):
    """A traffic split over model versions (a canary when it guards itself); one runs at a time."""

    __tablename__ = "experiments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16))  # split, canary
    status: Mapped[str] = mapped_column(String(16), index=True)  # running, promoted, abandoned
    control: Mapped[str] = mapped_column(String(200))
    # A canary's rollback rule: min_sample, error_margin, refusal_margin, latency_margin.
    guard: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    winner: Mapped[str | None] = mapped_column(String(200), nullable=True)


class ExperimentArm(Base):
    """One version of an experiment and its share of the traffic."""

    __tablename__ = "experiment_arms"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"), index=True)
    version: Mapped[str] = mapped_column(String(200))
    weight: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="on")  # on, rolled_back
    # The canary check counts jobs from here on; an admin re-enabling the arm moves it, so
    # the jobs that got it rolled back do not roll it back again at once.
    since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_check: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class ExperimentEvent(Base):
    """What happened to an experiment: started, weights, rollback, promoted, abandoned."""

    __tablename__ = "experiment_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))
    version: Mapped[str | None] = mapped_column(String(200), nullable=True)
    actor: Mapped[str] = mapped_column(String(120))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
