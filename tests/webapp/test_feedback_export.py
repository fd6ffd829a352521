"""``python -m generation export-feedback`` on a real app's database, then ``finetune`` on it."""

from __future__ import annotations

import atexit
import json

import pytest

from generation.__main__ import main as generation_cli
from tests.webapp.helpers import bearer

LIKED = ("a liked circle", "a square liked twice")


def make_image(client, key: str, prompt: str) -> str:
    """An image of ``prompt`` made with ``key``."""
    response = client.post("/api/v1/images", json={"prompt": prompt}, headers=bearer(key))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["images"][0]["url"].rsplit("/", 1)[1].removesuffix(".png")


@pytest.fixture
def voted(client, api_key, admin_key) -> dict[str, str]:
    """Images with every kind of feedback, by prompt; returns prompt -> image id."""
    return give_every_kind_of_feedback(client, api_key, admin_key)


def give_every_kind_of_feedback(client, api_key: str, admin_key: str) -> dict[str, str]:
    """Make an image per kind of feedback and give it; returns prompt -> image id."""

    def give(image: str, key: str, **body) -> None:
        path = f"/api/v1/images/{image}/feedback"
        assert client.post(path, json=body, headers=bearer(key)).status_code == 200

    ids = {}
    plans = {
        LIKED[0]: [(api_key, {"vote": "up"})],
        LIKED[1]: [(api_key, {"vote": "up"}), (admin_key, {"vote": "up"})],
        "liked by one, disliked by another": [
            (api_key, {"vote": "up"}),
            (admin_key, {"vote": "down"}),
        ],
        "liked, then changed to down": [(api_key, {"vote": "up"}), (api_key, {"vote": "down"})],
        "liked and reported": [(api_key, {"vote": "up", "report": {"reason": "not ok"}})],
        "liked, then cleared": [(api_key, {"vote": "up"}), (api_key, {"vote": "none"})],
        "a borderline liked beach": [(api_key, {"vote": "up"})],  # guarded by the fake
        "nobody said anything": [],
    }
    for prompt, steps in plans.items():
        ids[prompt] = make_image(client, api_key, prompt)
        for key, body in steps:
            give(ids[prompt], key, **body)
    return ids


def export(app, out, *extra: str) -> int:
    """Run the command as `python -m generation export-feedback` runs it."""
    cfg = app.config
    args = ["export-feedback", "--database-url", cfg["SAFECANVAS_DATABASE_URL"]]
    args += ["--image-dir", cfg["SAFECANVAS_IMAGE_DIR"], "--out", str(out), *extra]
    return generation_cli(args)


@pytest.mark.parametrize(
    "store",
    [
        "directory",
        pytest.param("database", marks=pytest.mark.app_config(SAFECANVAS_IMAGE_STORE="database")),
    ],
)
def test_only_images_liked_and_never_disliked_or_reported_are_exported(
    fake_app, client, api_key, voted, tmp_path, capsys, store
):
    out = tmp_path / "dataset"
    assert export(fake_app, out) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["images"] == 2
    assert summary["left_out"] == {
        "disliked": 2,
        "reported": 1,
        "not liked enough": 1,
        "guarded prompt": 1,
    }
    rows = [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]
    assert {row["text"] for row in rows} == set(LIKED)
    for row in rows:
        assert row["file_name"] == f"{voted[row['text']]}.png"
        served = client.get(f"/api/v1/images/{row['image_id']}.png", headers=bearer(api_key))
        assert (out / row["file_name"]).read_bytes() == served.data  # the stored PNG itself
        assert row["model_version"] == "fake-1"
    assert {row["likes"] for row in rows} == {1, 2}
    card = (out / "README.md").read_text()
    assert "| `fake-1` | 2 | 3 |" in card and '  - "fake-1"' in card
    assert "Left out: 2 disliked, 1 guarded prompt, 1 not liked enough, 1 reported" in card
    assert f"made {rows[0]['created'][:10]}" in card


def test_filters_and_a_used_folder_are_clear_errors(fake_app, voted, tmp_path, capsys):
    assert export(fake_app, tmp_path / "a", "--version", "other-version") == 1
    assert "no liked images to export" in capsys.readouterr().err
    assert export(fake_app, tmp_path / "b", "--until", "2000-01-01") == 1
    assert "'outside the dates': 7" in capsys.readouterr().err
    used = tmp_path / "used"
    used.mkdir()
    (used / "x.txt").write_text("x")
    assert export(fake_app, used) == 1
    assert "choose a new or empty folder" in capsys.readouterr().err
    assert export(fake_app, tmp_path / "c", "--include-guarded") == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["images"] == 3


def test_export_then_finetune_on_the_embedded_model(fake_app, voted, tmp_path, capsys):
    from generation.versions import Registry

    data, models = tmp_path / "liked", tmp_path / "models"
    assert export(fake_app, data) == 0
    args = ["finetune", "--data", str(data), "--name", "from-feedback", "--steps", "2"]
    args += ["--batch-size", "2", "--validation-every", "0", "--model-dir", str(models)]
    assert generation_cli(args) == 0
    version = Registry(models).get("from-feedback")
    assert (version.kind, version.parent) == ("adapter", "canvas-shapes")
    assert version.details["dataset_images"] == 2
    assert version.details["dataset"] == str(data)
    assert (models / "from-feedback" / "pytorch_lora_weights.safetensors").is_file()


def test_postgresql_and_sqlite_export_alike(database_url, tmp_path, monkeypatch, capsys):
    from tests.webapp.api_fakes import FakeGenerator, FakeModeration
    from webapp import create_app
    from webapp.auth import create_api_key
    from webapp.config import test_config
    from webapp.db import session_factory, session_scope
    from webapp.generation_service import get_generation_service
    from webapp.loaded_models import LoadedModels
    from webapp.migrate import upgrade

    upgrade(database_url)
    monkeypatch.setenv("SAFECANVAS_INSTANCE_PATH", str(tmp_path))
    cfg = test_config(str(tmp_path), SAFECANVAS_DATABASE_URL=database_url)
    models = LoadedModels(FakeGenerator(tmp_path / "models"), FakeModeration())
    app = create_app(cfg, models)
    with app.app_context(), session_scope(session_factory(app)) as session:
        user, admin = create_api_key(session, "u")[1], create_api_key(session, "a", True)[1]
    service = get_generation_service(app)
    try:
        give_every_kind_of_feedback(app.test_client(), user, admin)
    finally:
        service.queue.stop(0)
        atexit.unregister(service.shutdown)  # it would run after the test database is gone
    assert export(app, tmp_path / "out") == 0
    rows = (tmp_path / "out" / "metadata.jsonl").read_text().splitlines()
    assert {json.loads(row)["text"] for row in rows} == set(LIKED)
