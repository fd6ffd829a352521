"""The Grafana dashboard and the Prometheus alert rules ask only for what /metrics really has.

Every PromQL expression is parsed (promql-parser, Prometheus' grammar); each metric it selects
must be on a real app's /metrics after real traffic, with every label it matches on or groups
by, and every value it matches exactly. The rules file is checked against Prometheus' rule-file
format; where promtool is installed, ``promtool check rules`` checks it too and ``promtool test
rules`` runs the alerts' unit tests (docker/prometheus/alerts_test.yml).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import promql_parser
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.webapp.api_fakes import FakeGenerator, FakeModeration

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "docker" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "docker" / "grafana" / "safecanvas.json"
# Labels Prometheus adds when it scrapes a target; they are never on /metrics itself.
TARGET_LABELS = {"instance", "job"}
DURATION = re.compile(r"^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
GROUP_KEYS = {"name", "interval", "limit", "query_offset", "labels", "rules"}
ALERT_KEYS = {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
RECORD_KEYS = {"record", "expr", "labels"}
OPS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}  # promql_parser.MatchOp


def rules() -> list[dict]:
    """Every rule of the alert rules file."""
    doc = yaml.safe_load(RULES.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def dashboard_queries() -> list[str]:
    """Every PromQL query of the dashboard's panels (rows included)."""
    doc = json.loads(DASHBOARD.read_text())
    panels = [p for top in doc["panels"] for p in (top, *top.get("panels", []))]
    return [t["expr"] for p in panels for t in p.get("targets", [])]


def without_grafana_variables(expr: str) -> str:
    """Grafana's variables as Prometheus would receive them ($__rate_interval, $version)."""
    expr = re.sub(r"\$__\w+", "5m", expr)
    return re.sub(r"\$\{?\w+\}?", ".*", expr)


def uses(expr: str) -> list[tuple[str, list[tuple[str, str, str]], set[str]]]:
    """(metric, [(label, op, value)], labels grouped by around it) for each selector."""
    found: list = []
    grouping: list[set[str]] = [set()]

    def enter(node) -> None:
        if isinstance(node, promql_parser.AggregateExpr):
            by = node.modifier and node.modifier.type == promql_parser.AggModifierType.By
            grouping.append(grouping[-1] | (set(node.modifier.labels) if by else set()))
        if isinstance(node, promql_parser.VectorSelector):
            matchers = [
                (m.name, OPS[str(m.op).rpartition(".")[2]], m.value) for m in node.matchers.matchers
            ]
            found.append((node.name, matchers, set(grouping[-1])))

    def leave(node) -> None:
        if isinstance(node, promql_parser.AggregateExpr):
            grouping.pop()

    promql_parser.walk(promql_parser.parse(expr), pre_visit=enter, post_visit=leave)
    return found


@pytest.fixture(scope="module")
def exposed(tmp_path_factory) -> dict[str, dict[str, set[str]]]:
    """sample name -> label -> values on a real app's /metrics, after traffic of every kind."""
    from webapp import create_app
    from webapp.config import test_config
    from webapp.generation_service import get_generation_service
    from webapp.loaded_models import LoadedModels
    from webapp.metrics import count_canary_rollback
    from webapp.migrate import upgrade

    instance = tmp_path_factory.mktemp("instance")
    cfg = test_config(str(instance))
    upgrade(cfg["SAFECANVAS_DATABASE_URL"])
    generator, moderation = FakeGenerator(instance / "models"), FakeModeration()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SAFECANVAS_INSTANCE_PATH", str(instance))
        app = create_app(cfg, LoadedModels(generator, moderation))
        client = app.test_client()
        key = make_key(app)
        auth = {"Authorization": f"Bearer {key}"}
        made = client.post("/api/v1/images", json={"prompt": "a square"}, headers=auth)
        image = made.get_json()["images"][0]["url"].rsplit("/", 1)[1].removesuffix(".png")
        body = {"vote": "up", "report": {"reason": "odd", "category": "violence"}}
        client.post(f"/api/v1/images/{image}/feedback", json=body, headers=auth)
        client.post("/api/v1/images", json={"prompt": "a red-flag square"}, headers=auth)
        client.post("/api/v1/images", json={"prompt": "forbidden"}, headers=auth)
        client.post("/api/v1/images", json={"prompt": "a borderline square"}, headers=auth)
        with env.context() as broken:  # one batch whose pipeline call fails
            broken.setattr(generator, "generate_batch", _fail)
            client.post("/api/v1/images", json={"prompt": "a failing square"}, headers=auth)
        moderation.down = True
        client.post("/api/v1/images", json={"prompt": "a square"}, headers=auth)  # 503
        moderation.down = False
        # webapp.experiments.canary counts a rollback through this (tests/webapp/test_canary.py).
        count_canary_rollback("canary-version")
        client.get("/api/v1/jobs/00000000-0000-0000-0000-000000000000/events", headers=auth)
        text = client.get("/metrics").get_data(as_text=True)
        get_generation_service(app).queue.stop(0)
    labels: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels[sample.name]  # a sample without labels exists too
            for name, value in sample.labels.items():
                labels[sample.name][name].add(value)
    return labels


def _fail(*_args, **_kwargs):
    raise RuntimeError("the pipeline broke")


def make_key(app) -> str:
    """An API key of ``app``."""
    from webapp.auth import create_api_key
    from webapp.db import session_factory, session_scope

    with app.app_context(), session_scope(session_factory(app)) as session:
        return create_api_key(session, "ops")[1]


@pytest.mark.parametrize(
    "expr",
    [r["expr"] for r in rules()] + [without_grafana_variables(q) for q in dashboard_queries()],
)
def test_every_metric_and_label_used_is_on_metrics(exposed, expr):
    selectors = uses(expr)
    assert selectors, f"no metric in {expr}"
    for metric, matchers, grouped in selectors:
        assert metric in exposed, f"{metric} is not on /metrics ({expr})"
        have = exposed[metric]
        for label, op, value in matchers:
            assert label in have or label in TARGET_LABELS, f"{metric} has no label {label}"
            if op == "=" and label not in TARGET_LABELS:
                assert value in have[label], f"{metric}{{{label}={value!r}}} never appears"
        missing = grouped - set(have) - TARGET_LABELS
        assert not missing, f"{metric} has no label(s) {sorted(missing)} to group by ({expr})"


def test_the_dashboard_version_variable_reads_a_real_label(exposed):
    doc = json.loads(DASHBOARD.read_text())
    variable = next(v for v in doc["templating"]["list"] if v["name"] == "version")
    metric, label = re.fullmatch(r"label_values\((\w+), (\w+)\)", variable["definition"]).groups()
    assert label in exposed[metric]
    assert doc["uid"] and doc["title"] and doc["schemaVersion"] >= 30
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids))
    for query in dashboard_queries():
        assert "$version" in query or "version" not in query  # every version panel filters


def test_the_rules_file_follows_prometheus_rule_format():
    doc = yaml.safe_load(RULES.read_text())
    assert set(doc) == {"groups"} and doc["groups"]
    names = [group["name"] for group in doc["groups"]]
    assert len(names) == len(set(names)), "group names must be unique"
    alerts = []
    for group in doc["groups"]:
        assert set(group) <= GROUP_KEYS and isinstance(group["name"], str) and group["rules"]
        for rule in group["rules"]:
            kind = "alert" if "alert" in rule else "record"
            assert set(rule) <= (ALERT_KEYS if kind == "alert" else RECORD_KEYS), rule
            assert isinstance(rule["expr"], str) and LABEL_NAME.match(rule[kind])
            promql_parser.parse(rule["expr"])  # raises ValueError on a syntax error
            for key in ("for", "keep_firing_for"):
                assert key not in rule or DURATION.match(rule[key]), rule[key]
            for key in ("labels", "annotations"):
                for name, value in rule.get(key, {}).items():
                    assert LABEL_NAME.match(name) and isinstance(value, str), (name, value)
                    assert value.count("{{") == value.count("}}"), value
            alerts.append(rule.get("alert"))
    for wanted in ("ErrorRate", "SlowGeneration", "QueueBacklog", "ModerationUnavailable"):
        assert any(wanted in (a or "") for a in alerts), wanted
    for wanted in ("ImageRefusalSpike", "UserReportSpike", "CanaryRolledBack"):
        assert any(wanted in (a or "") for a in alerts), wanted


def test_a_broken_expression_would_be_caught():
    with pytest.raises(ValueError):
        promql_parser.parse("sum(rate(safecanvas_jobs_total[5m])")
    assert uses('sum by (version) (rate(x_total{stage="image"}[5m]))') == [
        ("x_total", [("stage", "=", "image")], {"version"})
    ]


@pytest.mark.skipif(not shutil.which("promtool"), reason="promtool is not installed")
def test_promtool_accepts_the_rules():
    result = subprocess.run(["promtool", "check", "rules", str(RULES)], capture_output=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(not shutil.which("promtool"), reason="promtool is not installed")
def test_the_alerts_fire_on_trouble_and_stay_quiet_otherwise():
    """docker/prometheus/alerts_test.yml: promtool's unit tests, on synthetic series."""
    tests = RULES.with_name("alerts_test.yml")
    result = subprocess.run(["promtool", "test", "rules", str(tests)], capture_output=True)
    assert result.returncode == 0, (result.stdout + result.stderr).decode()
