"""The Celery application both tiers share: broker, the durable generation queue, acks.

The web tier only sends ``TASK`` messages (``webapp.jobs.celery_queue``); GPU workers
consume them (``webapp.jobs.celery_worker``). Messages are JSON (``JobPayload.to_json``),
acknowledged late: a worker that dies mid-job leaves its messages unacknowledged, and the
broker hands them to another worker (RabbitMQ at once when the connection drops, Redis after
the visibility timeout). ``JobStore.start`` then runs the job once more or fails it.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu import Exchange, Queue

TASK = "safecanvas.generate"


def make_celery(config: dict[str, Any]) -> Celery:
    """A Celery app for the configured broker (``redis://`` or ``amqp://``)."""
    visibility_s = config["SAFECANVAS_BROKER_VISIBILITY_TIMEOUT_S"]
    queue = config["SAFECANVAS_BROKER_QUEUE"]
    app = Celery("safecanvas", broker=config["SAFECANVAS_BROKER_URL"], set_as_current=False)
    app.conf.update(
        task_queues=[Queue(queue, Exchange(queue, type="direct"), routing_key=queue, durable=True)],
        task_default_queue=queue,
        task_routes={TASK: {"queue": queue, "routing_key": queue}},
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,  # results live in the database, not in a result backend
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # A worker holds at most its concurrency (the batch size) of unacknowledged jobs.
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=5,
        broker_transport_options={
            # Redis: an unacknowledged job is handed out again after this long; it must
            # exceed the longest a job may be held (the job timeout).
            "visibility_timeout": visibility_s,
            "unacked_restore_interval": max(1, min(10, visibility_s // 5)),
            "unacked_restore_throttle": 1,
            # RabbitMQ: send_task returns once the broker has the message (publisher
            # confirms), so an accepted job survives a web process that dies right after.
            "confirm_publish": True,
        },
    )
    return app


def broker_name(url: str) -> str:
    """``redis`` or ``rabbitmq``, for logs and /readyz."""
    return "redis" if url.startswith("redis") else "rabbitmq"
