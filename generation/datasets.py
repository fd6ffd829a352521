"""Reading a fine-tuning dataset in Hugging Face imagefolder layout, with clear errors."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import GenerationError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif"}


class InvalidDataset(GenerationError, ValueError):
    """A fine-tuning dataset that cannot be used; the message names the file."""


@dataclass(frozen=True)
class CaptionedImages:
    """Images (uint8, N x H x W x 3) with one caption each, and a hash of the source files."""

    images: np.ndarray
    captions: list[str]
    content_hash: str


def _square(image, resolution: int):
    """Centre-crop to a square and resize with antialiasing."""
    from PIL import Image

    w, h = image.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    image = image.crop((left, top, left + side, top + side))
    return image.resize((resolution, resolution), Image.Resampling.LANCZOS)


def _read_metadata(folder: Path) -> dict[str, str]:
    meta = folder / "metadata.jsonl"
    if not meta.is_file():
        raise InvalidDataset(
            f"{meta} is missing: give one JSON line per image with file_name and text"
        )
    captions: dict[str, str] = {}
    for number, line in enumerate(meta.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise InvalidDataset(f"{meta} line {number}: not valid JSON ({exc})") from exc
        name = row.get("file_name") if isinstance(row, dict) else None
        if not name:
            raise InvalidDataset(f"{meta} line {number}: no file_name")
        text = row.get("text")
        if not isinstance(text, str) or not text.strip():
            raise InvalidDataset(f"{meta} line {number}: missing caption (text) for {name}")
        captions[name] = text.strip()
    return captions


def load_imagefolder(folder: str | Path, resolution: int) -> CaptionedImages:
    """Read every image listed in ``metadata.jsonl`` of ``folder``.

    Raises:
        InvalidDataset: empty or missing folder, unreadable image, image without caption.
    """
    from PIL import Image, UnidentifiedImageError

    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidDataset(f"dataset folder {folder} does not exist")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InvalidDataset(f"dataset folder {folder} contains no images")
    captions = _read_metadata(folder)
    digest = hashlib.sha256((folder / "metadata.jsonl").read_bytes())
    images, texts = [], []
    for path in files:
        name = path.relative_to(folder).as_posix()
        if name not in captions:
            raise InvalidDataset(f"missing caption for image {path} (no metadata.jsonl entry)")
        try:
            with Image.open(path) as im:
                im.load()
                rgb = _square(im.convert("RGB"), resolution)
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise InvalidDataset(f"unreadable image {path}: {exc}") from exc
        digest.update(name.encode())
        digest.update(path.read_bytes())
        images.append(np.asarray(rgb, dtype=np.uint8))
        texts.append(captions[name])
    missing = sorted(set(captions) - {p.relative_to(folder).as_posix() for p in files})
    if missing:
        raise InvalidDataset(f"metadata.jsonl names images that are not in {folder}: {missing[:3]}")
    return CaptionedImages(np.stack(images), texts, "sha256:" + digest.hexdigest())
