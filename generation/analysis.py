"""Deterministic image analyser for canvas-shapes outputs: colours, shape, count, position.

Works on the image upscaled 4x (bilinear): background from the border, foreground as pixels
far from it, connected components for the count, fill ratio and top/bottom widths for the shape.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .shapes import PALETTE

_SCALE = 128
_FG_DISTANCE = 70.0
_MIN_AREA = 0.012  # of the image; smaller blobs are sampling specks


@dataclass(frozen=True)
class Analysis:
    """What the analyser sees in one image."""

    background: str
    colour: str | None
    shape: str | None
    count: int
    position: str | None


def nearest_colour(rgb: np.ndarray, exclude: str | None = None) -> str:
    """Name of the palette colour nearest to ``rgb``."""
    best, best_d = "", float("inf")
    for name, ref in PALETTE.items():
        if name == exclude:
            continue
        d = float(np.sum((rgb - np.asarray(ref, dtype=np.float64)) ** 2))
        if d < best_d:
            best, best_d = name, d
    return best


def _components(mask: np.ndarray) -> list[np.ndarray]:
    """4-connected components of a boolean mask, as arrays of (row, col) indices."""
    seen = np.zeros_like(mask, dtype=bool)
    h, w = mask.shape
    found = []
    for r0, c0 in zip(*np.nonzero(mask), strict=True):
        if seen[r0, c0]:
            continue
        seen[r0, c0] = True
        queue, pixels = deque([(r0, c0)]), []
        while queue:
            r, c = queue.popleft()
            pixels.append((r, c))
            for rr, cc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                if 0 <= rr < h and 0 <= cc < w and mask[rr, cc] and not seen[rr, cc]:
                    seen[rr, cc] = True
                    queue.append((rr, cc))
        found.append(np.asarray(pixels))
    return found


def classify_shape(pixels: np.ndarray) -> str:
    """circle, square or triangle from one component's pixels."""
    rows, cols = pixels[:, 0], pixels[:, 1]
    top, bottom = rows.min(), rows.max()
    height = bottom - top + 1
    width = cols.max() - cols.min() + 1
    fill = len(pixels) / float(height * width)
    band = max(1, height // 5)
    top_width = np.sum(rows < top + band) / band
    bottom_width = np.sum(rows > bottom - band) / band
    if fill > 0.88:
        return "square"
    if top_width < 0.55 * bottom_width:
        return "triangle"
    return "circle" if fill > 0.62 else "triangle"


def _position(centre: np.ndarray) -> str:
    """centre, left, right, top or bottom from a point in [0, 1] coordinates."""
    dy, dx = centre[0] - 0.5, centre[1] - 0.5
    if max(abs(dx), abs(dy)) < 0.1:
        return "centre"
    if abs(dx) >= abs(dy):
        return "left" if dx < 0 else "right"
    return "top" if dy < 0 else "bottom"


def analyse(image: Image.Image) -> Analysis:
    """Analyse one generated (or drawn) image."""
    big = np.asarray(image.convert("RGB").resize((_SCALE, _SCALE), Image.Resampling.BILINEAR))
    pixels = big.astype(np.float64)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    background = nearest_colour(np.median(border, axis=0))
    distance = np.sqrt(np.sum((pixels - np.asarray(PALETTE[background])) ** 2, axis=-1))
    mask = distance > _FG_DISTANCE
    blobs = [b for b in _components(mask) if len(b) >= _MIN_AREA * _SCALE * _SCALE]
    if not blobs:
        return Analysis(background, None, None, 0, None)
    fg = np.concatenate(blobs)
    colour = nearest_colour(np.median(pixels[fg[:, 0], fg[:, 1]], axis=0), exclude=background)
    shapes = [classify_shape(b) for b in blobs]
    shape = max(sorted(set(shapes)), key=shapes.count)
    # Bounding-box centre, not centroid: a triangle's centroid sits low.
    box_centre = (blobs[0].min(axis=0) + blobs[0].max(axis=0) + 1) / 2 / _SCALE
    position = _position(box_centre) if len(blobs) == 1 else None
    return Analysis(background, colour, shape, len(blobs), position)
