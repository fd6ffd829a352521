"""docker-compose.yml, read without a Docker engine: a web tier and one GPU worker per device."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_one_worker_per_gpu_and_a_web_tier_without_a_gpu():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    workers = {name: svc for name, svc in services.items() if name.startswith("worker-gpu")}
    devices = [
        svc["deploy"]["resources"]["reservations"]["devices"][0]["device_ids"]
        for svc in workers.values()
    ]
    assert len(workers) >= 2 and sorted(devices) == [[str(i)] for i in range(len(workers))]
    for svc in workers.values():
        assert svc["entrypoint"] == ["flask", "--app", "webapp", "worker"]
        assert svc["environment"]["SAFECANVAS_QUEUE"] == "celery"
    app = services["app"]
    assert "deploy" not in app  # the web tier loads no diffusion model
    same = ("SAFECANVAS_DATABASE_URL", "SAFECANVAS_BROKER_URL", "SAFECANVAS_SECRET_KEY")
    for svc in workers.values():
        assert all(svc["environment"][k] == app["environment"][k] for k in same)
    assert app["environment"]["SAFECANVAS_BROKER_URL"].startswith("amqp://")
    assert {"rabbitmq", "db", "redis"} <= set(services)
