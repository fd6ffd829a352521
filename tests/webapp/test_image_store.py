"""The image store: a directory and the database, on SQLite and PostgreSQL, served over HTTP."""

from __future__ import annotations

import base64
import io
import uuid

import pytest
from PIL import Image as PILImage
from sqlalchemy import text

from tests.webapp.helpers import bearer, wait_final
from webapp.db import make_engine
from webapp.image_store import DatabaseStore, DirectoryStore, ImageMissing, encode_png
from webapp.migrate import upgrade


def _picture(colour=(10, 200, 30)) -> PILImage.Image:
    return PILImage.new("RGB", (8, 8), colour)


@pytest.fixture(params=["directory", "sqlite", "postgresql"])
def store(request, tmp_path):
    """Each backend; the database one on SQLite and on the local PostgreSQL."""
    if request.param == "directory":
        yield DirectoryStore(tmp_path / "images")
        return
    from sqlalchemy.orm import sessionmaker

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
        with make_engine(url).begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade(url)
    engine = make_engine(url)
    yield DatabaseStore(sessionmaker(engine, expire_on_commit=False))
    engine.dispose()


def test_saved_images_read_back_byte_for_byte_and_delete(store):
    job_id = str(uuid.uuid4())
    image_id, key = store.save(job_id, _picture())
    assert str(uuid.UUID(image_id)) == image_id
    with store.open(key) as fh:
        data = fh.read()
    assert data == encode_png(_picture())
    assert PILImage.open(io.BytesIO(data)).getpixel((0, 0)) == (10, 200, 30)
    store.delete(key)
    store.delete(key)  # twice is fine
    with pytest.raises(ImageMissing):
        store.open(key)


def test_the_directory_store_ignores_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = DirectoryStore("relative/images")
    _id, key = store.save("ab" + "c" * 34, _picture())
    monkeypatch.chdir("/")  # another process, another working directory
    with store.open(key) as fh:
        assert fh.read()[:8] == b"\x89PNG\r\n\x1a\n"
    assert store.root == tmp_path / "relative" / "images"
    assert not any(p.name.endswith(".tmp") for p in store.root.rglob("*"))


def test_the_directory_store_refuses_keys_outside_its_folder(tmp_path):
    (tmp_path / "secret.png").write_bytes(b"x")
    store = DirectoryStore(tmp_path / "images")
    with pytest.raises(ImageMissing):
        store.open("../secret.png")


@pytest.mark.parametrize(
    "backend",
    [
        pytest.param(name, marks=pytest.mark.app_config(SAFECANVAS_IMAGE_STORE=name))
        for name in ("directory", "database")
    ],
)
def test_the_api_serves_images_from_the_configured_store(
    tmp_path, client, api_key, make_key, backend
):
    key = api_key
    job = client.post("/api/v1/jobs", json={"prompt": "a shape"}, headers=bearer(key)).get_json()
    view = wait_final(client, job["id"], key)
    assert view["status"] == "succeeded"
    png = client.get(view["images"][0]["url"], headers=bearer(key))
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert PILImage.open(io.BytesIO(png.data)).size == (32, 32)
    files = list((tmp_path / "images").rglob("*.png"))
    assert len(files) == (1 if backend == "directory" else 0)
    other = make_key("someone-else")
    assert client.get(view["images"][0]["url"], headers=bearer(other)).status_code == 404
    body = client.post(
        "/api/v1/images",
        json={"prompt": "a shape", "response_format": "b64_png"},
        headers=bearer(key),
    ).get_json()
    png = base64.b64decode(body["images"][0]["b64_png"])
    assert PILImage.open(io.BytesIO(png)).size == (32, 32)
