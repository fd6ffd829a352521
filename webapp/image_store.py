"""Where generated PNGs live: a directory (a shared volume) or the database.

Every image is encoded in one place (``encode_png``) and written through one method
(``ImageStore.save``), whichever backend is configured, so later additions to the file
(metadata, thumbnails) have one path to change. The ``images.path`` column holds the key
``save`` returned; the web tier serves any image through ``open``, so a web process on
another host (or with another working directory) serves what a worker stored.
"""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol

from flask import Flask, current_app
from sqlalchemy import delete, select
from sqlalchemy.orm import sessionmaker

from webapp.db import session_factory, session_scope
from webapp.models import ImageBlob

if TYPE_CHECKING:
    from PIL.Image import Image

EXTENSION = "safecanvas.image_store"
BACKENDS = ("directory", "database")


class ImageMissing(LookupError):
    """The key names no stored image (deleted, or another store's key)."""


def encode_png(image: Image) -> bytes:
    """The PNG bytes stored for a generated image."""
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


class ImageStore(Protocol):
    """Keeps PNG bytes under a key; any process configured alike reads them back."""

    def save(self, job_id: str, image: Image) -> tuple[str, str]:
        """Store an image of a job; returns (image id, key for ``open``/``delete``)."""

    def open(self, key: str) -> IO[bytes]:
        """A binary file object with the PNG; raises ImageMissing."""

    def delete(self, key: str) -> None:
        """Remove an image (missing is fine)."""


class DirectoryStore:
    """PNG files under one folder, ``<job id[:2]>/<image id>.png``, written atomically."""

    def __init__(self, root: str | os.PathLike) -> None:
        """Resolve the folder now, so the working directory never matters later."""
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def save(self, job_id: str, image: Image) -> tuple[str, str]:
        """Write to a temporary name, then rename: readers never see half a file."""
        image_id = str(uuid.uuid4())
        key = f"{job_id[:2]}/{image_id}.png"
        folder = self.root / job_id[:2]
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{image_id}.tmp"
        tmp.write_bytes(encode_png(image))
        os.replace(tmp, self.root / key)
        return image_id, key

    def _path(self, key: str) -> Path:
        """The file of a key, refusing keys that leave the folder."""
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ImageMissing(key)
        return path

    def open(self, key: str) -> IO[bytes]:
        """The open file."""
        try:
            return self._path(key).open("rb")
        except FileNotFoundError:
            raise ImageMissing(key) from None

    def delete(self, key: str) -> None:
        """Unlink the file."""
        self._path(key).unlink(missing_ok=True)


class DatabaseStore:
    """PNG bytes in the ``image_blobs`` table: nothing to share but the database."""

    PREFIX = "db:"

    def __init__(self, factory: sessionmaker) -> None:
        """Use the app's database."""
        self.factory = factory

    def save(self, job_id: str, image: Image) -> tuple[str, str]:
        """Insert the bytes in their own transaction."""
        image_id = str(uuid.uuid4())
        with session_scope(self.factory) as session:
            session.add(ImageBlob(image_id=image_id, job_id=job_id, data=encode_png(image)))
        return image_id, self.PREFIX + image_id

    def open(self, key: str) -> IO[bytes]:
        """The bytes as an in-memory file."""
        with session_scope(self.factory) as session:
            data = session.scalar(
                select(ImageBlob.data).where(ImageBlob.image_id == key.removeprefix(self.PREFIX))
            )
        if data is None:
            raise ImageMissing(key)
        return io.BytesIO(data)

    def delete(self, key: str) -> None:
        """Delete the row."""
        with session_scope(self.factory) as session:
            session.execute(
                delete(ImageBlob).where(ImageBlob.image_id == key.removeprefix(self.PREFIX))
            )


def make_image_store(config: dict, factory: sessionmaker) -> ImageStore:
    """The backend ``SAFECANVAS_IMAGE_STORE`` names."""
    if config["SAFECANVAS_IMAGE_STORE"] == "database":
        return DatabaseStore(factory)
    return DirectoryStore(config["SAFECANVAS_IMAGE_DIR"])


def init_app(app: Flask) -> None:
    """Attach the configured store (after the database)."""
    app.extensions[EXTENSION] = make_image_store(app.config, session_factory(app))


def get_image_store(app: Flask | None = None) -> ImageStore:
    """The current app's image store."""
    return (app or current_app).extensions[EXTENSION]
