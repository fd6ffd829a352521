"""The admin experiments API in the OpenAPI document: answer schemas, bodies and operations.

Each schema mirrors the code that builds the answer (``ExperimentStore._as_dict``,
``VersionReport.to_dict``); tests/webapp/test_experiments.py validates real answers.
"""

from __future__ import annotations

from typing import Any

from webapp.api.schemas import INTEGER, STRING, TIME, array, nullable, obj, ref
from webapp.experiments import GUARD_BOUNDS, KINDS, MAX_WEIGHT
from webapp.experiments.store import ENDINGS

JSON = "application/json"
NUMBER_OR_NULL = {"type": ["number", "null"]}
TEXT_OR_NULL = {"type": ["string", "null"]}

SCHEMAS: dict[str, dict[str, Any]] = {
    "ExperimentArm": obj(
        {
            "version": STRING,
            "weight": INTEGER,
            "state": {"type": "string", "enum": ["on", "rolled_back"]},
            "since": TIME,
            "last_check": {
                "type": ["object", "null"],
                "description": "The latest canary check: verdict, reasons, both arms' figures.",
            },
        }
    ),
    "ExperimentEvent": obj(
        {
            "at": TIME,
            "kind": STRING,
            "version": TEXT_OR_NULL,
            "actor": STRING,
            "details": {"type": "object", "description": "A rollback's figures and reasons."},
        }
    ),
    "ProportionTest": obj(
        {
            "difference": {"type": "number"},
            "z": {"type": "number"},
            "p_value": {"type": "number"},
            "significant": {"type": "boolean"},
        }
    ),
    "VersionFigures": obj(
        {
            "version": STRING,
            "weight": INTEGER,
            "state": STRING,
            "control": {"type": "boolean"},
            "requests": INTEGER,
            "counted": INTEGER,
            "errors": INTEGER,
            "error_rate": NUMBER_OR_NULL,
            "p50_s": NUMBER_OR_NULL,
            "p95_s": NUMBER_OR_NULL,
            "refusals": {"type": "object", "additionalProperties": INTEGER},
            "thumbs_up": INTEGER,
            "votes": INTEGER,
            "thumbs_up_rate": NUMBER_OR_NULL,
            "thumbs_up_interval": nullable(array({"type": "number"})),
            "error_test": nullable(ref("ProportionTest")),
            "thumbs_up_test": nullable(ref("ProportionTest")),
        }
    ),
    "Experiment": obj(
        {
            "id": INTEGER,
            "name": STRING,
            "kind": {"type": "string", "enum": list(KINDS)},
            "status": {"type": "string", "enum": ["running", *ENDINGS.values()]},
            "control": STRING,
            "guard": {"type": ["object", "null"], "description": "A canary's rollback rule."},
            "created_by": STRING,
            "created_at": TIME,
            "ended_by": TEXT_OR_NULL,
            "ended_at": nullable(TIME),
            "winner": TEXT_OR_NULL,
            "arms": array(ref("ExperimentArm")),
            "events": array(ref("ExperimentEvent")),
            "versions": array(ref("VersionFigures")),
        },
        optional=("events", "versions"),
    ),
    "Experiments": obj(
        {"items": array(ref("Experiment")), "running": {"type": ["integer", "null"]}}
    ),
}


def _body(props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """A required JSON request body."""
    schema = {"type": "object", "properties": props, "required": required}
    return {"required": True, "content": {JSON: {"schema": schema}}}


WEIGHTS = {
    "type": "object",
    "additionalProperties": {"type": "integer", "minimum": 0, "maximum": MAX_WEIGHT},
    "description": "Version name -> weight.",
}


def operations(ok, exp_id: list[dict[str, Any]]) -> list[tuple]:
    """The operations as ``openapi.build_document`` lists them."""
    guard = {
        name: {"type": "integer" if isinstance(low, int) else "number", "minimum": low}
        | {"maximum": high}
        for name, (_, low, high) in GUARD_BOUNDS.items()
    }
    start = {
        "weights": WEIGHTS,
        "kind": {"type": "string", "enum": list(KINDS)},
        "control": STRING,
        "name": {"type": "string", "maxLength": 120},
        **guard,
    }
    end = {"action": {"type": "string", "enum": list(ENDINGS)}, "winner": STRING}
    write = (400, 401, 403, 404, 409)
    base = "/admin/api/experiments"
    one = f"{base}/{{exp_id}}"
    return [
        (base, "get", "Experiments, newest first", ok("Experiments"), (401, 403), None, None),
        (
            base,
            "post",
            "Start a split or a canary",
            ok("Experiment", 201),
            (400, 401, 403, 409),
            _body(start, ["weights"]),
            None,
        ),
        (
            one,
            "get",
            "An experiment and its figures",
            ok("Experiment"),
            (401, 403, 404),
            None,
            exp_id,
        ),
        (
            f"{one}/weights",
            "post",
            "New weights",
            ok("Experiment"),
            write,
            _body({"weights": WEIGHTS}, ["weights"]),
            exp_id,
        ),
        (
            f"{one}/rollback",
            "post",
            "Roll an arm back",
            ok("Experiment"),
            write,
            _body({"version": STRING}, ["version"]),
            exp_id,
        ),
        (
            f"{one}/end",
            "post",
            "Promote a winner or abandon",
            ok("Experiment"),
            write,
            _body(end, ["action"]),
            exp_id,
        ),
    ]
