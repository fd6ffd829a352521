"""``flask --app webapp experiment``: start, list, show, reweigh, roll back, promote, abandon."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from webapp.errors import ApiError
from webapp.experiments import get_experiments

ACTOR = "cli"
experiment_cli = AppGroup("experiment", help="Traffic splits and canaries over model versions.")


def _weights(pairs: tuple[str, ...]) -> dict[str, int]:
    """``("base=90", "tuned=10")`` as a mapping; a malformed pair is a usage error."""
    weights = {}
    for pair in pairs:
        version, sep, weight = pair.rpartition("=")
        if not sep or not version or not weight.strip().isdigit():
            raise click.BadParameter(f"{pair!r}: write VERSION=WEIGHT, e.g. canvas-shapes=90")
        weights[version] = int(weight)
    return weights


def _show(data: dict) -> None:
    """One experiment, as the admin JSON API answers it."""
    click.echo(json.dumps(data, indent=2))


def _run(action, *args):
    """Call the experiments; their 4xx errors become a clean CLI error."""
    try:
        return action(*args)
    except ApiError as exc:
        raise click.ClickException(exc.message) from None


@experiment_cli.command("start")
@click.argument("weights", nargs=-1, required=True)
@click.option("--canary", is_flag=True, help="Roll a worse version back automatically.")
@click.option("--control", help="The version the others are compared with (the active one).")
@click.option("--name", help="A label for the history.")
@click.option("--min-sample", type=int, help="Jobs per arm before the canary check acts.")
@click.option("--error-margin", type=float, help="Allowed error-rate excess (0.05 = 5 points).")
@click.option("--refusal-margin", type=float, help="Allowed image-refusal-rate excess.")
@click.option("--latency-margin", type=float, help="Allowed p95 excess (0.5 = 1.5x).")
def start_command(weights: tuple[str, ...], canary: bool, control, name, **guard) -> None:
    """Start an experiment over VERSION=WEIGHT pairs, e.g. canvas-shapes=90 tuned=10."""
    body = {"weights": _weights(weights), "kind": "canary" if canary else "split"}
    options = {"control": control, "name": name, **guard}
    body.update({k: v for k, v in options.items() if v is not None})  # 0 is a margin too
    _show(_run(get_experiments().start, body, ACTOR))


@experiment_cli.command("list")
def list_command() -> None:
    """Experiments newest first: id, status, kind, arms."""
    for exp in get_experiments().store.history():
        # a star marks a rolled-back arm
        arms = " ".join(
            f"{a['version']}={a['weight']}{'*' * (a['state'] != 'on')}" for a in exp["arms"]
        )
        winner = f" winner={exp['winner']}" if exp["winner"] else ""
        click.echo(f"{exp['id']}\t{exp['status']}\t{exp['kind']}\t{arms}{winner}")


@experiment_cli.command("show")
@click.argument("exp_id", type=int)
def show_command(exp_id: int) -> None:
    """One experiment with its arms, their last canary check and its events."""
    _show(_run(get_experiments().store.get, exp_id))


@experiment_cli.command("weights")
@click.argument("exp_id", type=int)
@click.argument("weights", nargs=-1, required=True)
def weights_command(exp_id: int, weights: tuple[str, ...]) -> None:
    """Change the weights of a running experiment (re-enables a rolled-back arm)."""
    _show(_run(get_experiments().set_weights, exp_id, _weights(weights), ACTOR))


@experiment_cli.command("rollback")
@click.argument("exp_id", type=int)
@click.argument("version")
def rollback_command(exp_id: int, version: str) -> None:
    """Take VERSION's traffic away now."""
    _show(_run(get_experiments().roll_back, exp_id, version, ACTOR))


@experiment_cli.command("promote")
@click.argument("exp_id", type=int)
@click.argument("version")
def promote_command(exp_id: int, version: str) -> None:
    """End the experiment: VERSION becomes the active version for everyone."""
    _show(_run(get_experiments().end, exp_id, "promote", version, ACTOR))


@experiment_cli.command("abandon")
@click.argument("exp_id", type=int)
def abandon_command(exp_id: int) -> None:
    """End the experiment without changing the active version."""
    _show(_run(get_experiments().end, exp_id, "abandon", None, ACTOR))
