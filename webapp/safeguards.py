"""Graded verdicts in the request path: what a guarded job runs with, and what requesters see.

A ``guard`` verdict's safeguards travel with the job (its row and its queue payload) and are
applied by the worker: the safety negative prompt goes into the pipeline call, the stricter
threshold into the image check.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from webapp.policy import policy_url

if TYPE_CHECKING:
    from generation.types import GenerationRequest
    from safety.verdict import Safeguards, Verdict

ALLOWED = {"action": "allow", "categories": []}


def guarded_request(req: GenerationRequest, safeguards: Safeguards | None) -> GenerationRequest:
    """The request the pipeline runs: the safety negative prompt first, then the request's own.

    First, because CLIP-conditioned checkpoints read 77 tokens and cut the rest: a long negative
    prompt of the requester's must not push the safeguard out of that window.
    """
    if safeguards is None:
        return req
    own = req.negative_prompt.strip()
    extra = safeguards.negative_prompt
    return replace(req, negative_prompt=f"{extra}, {own}" if own else extra)


def job_moderation(verdict: Verdict, log_id: int | None = None) -> dict[str, Any]:
    """What a job row keeps of its prompt's verdict (``Job.moderation``)."""
    record: dict[str, Any] = {"action": verdict.action, "categories": list(verdict.categories)}
    if verdict.safeguards is not None:
        record["safeguards"] = {
            "negative_prompt": verdict.safeguards.negative_prompt,
            "image_threshold": verdict.safeguards.image_threshold,
        }
        record["log_id"] = log_id
    return record


def moderation_outcome(record: dict[str, Any] | None) -> dict[str, Any]:
    """The outcome a requester sees: the action and categories, never the safeguards' terms.

    A guarded outcome links the content policy. Jobs older than graded verdicts were allowed.
    """
    if not record:
        return dict(ALLOWED)
    outcome = {"action": record["action"], "categories": list(record.get("categories") or [])}
    if outcome["action"] == "guard":
        outcome["policy_url"] = policy_url()
    return outcome
