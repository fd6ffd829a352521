"""The canvas-shapes world: vocabulary, captions, layouts and the procedural image drawer.

Layouts are nearly fixed on purpose (one shape centred or at a named side, two side by side,
three in a triangle of slots) so that a 2 M-parameter model learns to count within an hour
of CPU training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

RESOLUTION = 32
_SUPERSAMPLE = 4  # drawn at 128 px, downsampled with antialiasing

PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 170, 50),
    "blue": (30, 60, 220),
    "yellow": (240, 220, 30),
    "white": (245, 245, 245),
    "black": (15, 15, 15),
    "gray": (128, 128, 128),
    # Never in the base training set: the example fine-tuning dataset teaches it.
    "purple": (140, 40, 190),
}
COLOURS = ("red", "green", "blue", "yellow", "white", "black")
# Every foreground colour is also a background (plus gray): a colour the model never saw as a
# background made it swap the two ("white circles on a red background" came out inverted).
BACKGROUNDS = ("white", "black", "gray", "blue", "yellow", "red", "green")
SHAPES = ("circle", "square", "triangle")
COUNTS = (1, 2, 3)
POSITIONS = ("left", "right", "top", "bottom")
NEW_COLOUR = "purple"

_COUNT_WORDS = {1: "a", 2: "two", 3: "three"}
_POSITION_WORDS = {
    "left": "on the left",
    "right": "on the right",
    "top": "at the top",
    "bottom": "at the bottom",
}

# (colour, shape, background) triples never shown in training, at any count or position.
HELD_OUT: tuple[tuple[str, str, str], ...] = (
    ("red", "triangle", "gray"),
    ("green", "circle", "black"),
    ("blue", "square", "yellow"),
    ("yellow", "triangle", "blue"),
    ("white", "circle", "gray"),
    ("black", "square", "white"),
    ("red", "square", "blue"),
    ("green", "triangle", "white"),
    ("blue", "circle", "gray"),
    ("yellow", "square", "black"),
)


@dataclass(frozen=True)
class Scene:
    """What one image shows; ``position`` is only set for a single shape."""

    colour: str
    shape: str
    background: str
    count: int = 1
    position: str | None = None

    @property
    def caption(self) -> str:
        """The training caption, e.g. 'two red circles on a white background'."""
        noun = self.shape if self.count == 1 else self.shape + "s"
        where = f" {_POSITION_WORDS[self.position]}," if self.position else ""
        return (
            f"{_COUNT_WORDS[self.count]} {self.colour} {noun}{where} on a {self.background} "
            "background"
        )


def all_scenes(colours: tuple[str, ...] = COLOURS) -> list[Scene]:
    """Every scene of the vocabulary (foreground never equal to background)."""
    scenes = []
    for colour in colours:
        for shape in SHAPES:
            for background in BACKGROUNDS:
                if background == colour:
                    continue
                scenes += [Scene(colour, shape, background, count) for count in COUNTS]
                scenes += [Scene(colour, shape, background, 1, pos) for pos in POSITIONS]
    return scenes


def is_held_out(scene: Scene) -> bool:
    """Whether the scene's colour/shape/background combination is kept out of training."""
    return (scene.colour, scene.shape, scene.background) in HELD_OUT


def training_scenes() -> list[Scene]:
    """Scenes the base model is trained on."""
    return [s for s in all_scenes() if not is_held_out(s)]


def evaluation_scenes() -> tuple[list[Scene], list[Scene]]:
    """(held-out scenes, a fixed sample of seen scenes) used by ``evaluate``."""
    held = []
    for i, (colour, shape, background) in enumerate(HELD_OUT):
        held += [Scene(colour, shape, background, count) for count in COUNTS]
        held.append(Scene(colour, shape, background, 1, POSITIONS[i % len(POSITIONS)]))
    seen = training_scenes()
    rng = np.random.default_rng(1234)
    picks = rng.choice(len(seen), size=20, replace=False)
    return held, [seen[int(i)] for i in sorted(picks)]


def _centres(scene: Scene, rng: np.random.Generator) -> tuple[list[tuple[float, float]], float]:
    """Shape centres and half-size, in 32-px canvas units, with a little jitter."""
    if scene.count == 1 and scene.position is None:
        slots, half = [(16.0, 16.0)], 9.0
    elif scene.count == 1:
        slots = {
            "left": [(9.0, 16.0)],
            "right": [(23.0, 16.0)],
            "top": [(16.0, 9.0)],
            "bottom": [(16.0, 23.0)],
        }[scene.position]
        half = 6.0
    elif scene.count == 2:
        slots, half = [(8.0, 16.0), (24.0, 16.0)], 5.5
    else:
        slots, half = [(8.0, 9.0), (24.0, 9.0), (16.0, 24.0)], 5.0
    half += float(rng.uniform(-0.5, 0.5))
    centres = [
        (x + float(rng.uniform(-0.6, 0.6)), y + float(rng.uniform(-0.6, 0.6))) for x, y in slots
    ]
    return centres, half


def _draw_shape(draw: ImageDraw.ImageDraw, shape: str, cx: float, cy: float, half: float, fill):
    """Draw one shape of half-size ``half`` (already supersampled) centred on (cx, cy)."""
    if shape == "circle":
        draw.ellipse((cx - half, cy - half, cx + half, cy + half), fill=fill)
    elif shape == "square":
        side = half * 0.9
        draw.rectangle((cx - side, cy - side, cx + side, cy + side), fill=fill)
    elif shape == "triangle":
        draw.polygon([(cx, cy - half), (cx + half, cy + half), (cx - half, cy + half)], fill=fill)
    else:
        raise ValueError(f"unknown shape {shape!r}")


def draw_scene(scene: Scene, rng: np.random.Generator, size: int = RESOLUTION) -> Image.Image:
    """Render a scene as an RGB image of ``size`` x ``size`` pixels."""
    scale = size * _SUPERSAMPLE / RESOLUTION
    big = Image.new("RGB", (size * _SUPERSAMPLE,) * 2, PALETTE[scene.background])
    draw = ImageDraw.Draw(big)
    centres, half = _centres(scene, rng)
    for cx, cy in centres:
        _draw_shape(draw, scene.shape, cx * scale, cy * scale, half * scale, PALETTE[scene.colour])
    return big.resize((size, size), Image.Resampling.BOX)


def sample_scene(scenes: list[Scene], rng: np.random.Generator) -> Scene:
    """Pick a scene with layouts balanced: centred one, two, three, positioned one."""
    kind = int(rng.integers(4))
    if kind == 3:
        pool = [s for s in scenes if s.position is not None]
    else:
        pool = [s for s in scenes if s.position is None and s.count == kind + 1]
    if not pool:
        pool = scenes
    return pool[int(rng.integers(len(pool)))]


def colour_pairs(colours: tuple[str, ...] = COLOURS) -> list[tuple[str, str]]:
    """Every (foreground, background) colour pair of the vocabulary, foreground first."""
    return [(fg, bg) for fg in colours for bg in BACKGROUNDS if fg != bg]


def draw_pool(
    scenes: list[Scene],
    size: int,
    seed: int,
    focus: dict[tuple[str, str], float] | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Draw ``size`` images once: (uint8 images NHWC, caption index per image, captions).

    ``focus`` maps (foreground, background) pairs to a sampling weight (default 1), so that
    pairs the model gets wrong are drawn more often.
    """
    captions = sorted({s.caption for s in scenes})
    index = {c: i for i, c in enumerate(captions)}
    by_kind = {
        k: [
            s
            for s in scenes
            if (s.position is not None) == (k == 3) and (k == 3 or s.count == k + 1)
        ]
        for k in range(4)
    }
    weights = {k: _weights(pool, focus) if focus and pool else None for k, pool in by_kind.items()}
    rng = np.random.default_rng(seed)
    images = np.empty((size, RESOLUTION, RESOLUTION, 3), dtype=np.uint8)
    labels = np.empty(size, dtype=np.int64)
    for i in range(size):
        kind = int(rng.integers(4))
        pool = by_kind[kind] or scenes
        if weights.get(kind) is not None:
            scene = pool[int(rng.choice(len(pool), p=weights[kind]))]
        else:
            scene = pool[int(rng.integers(len(pool)))]
        images[i] = np.asarray(draw_scene(scene, rng))
        labels[i] = index[scene.caption]
    return images, labels, captions


def _weights(scenes: list[Scene], focus: dict[tuple[str, str], float]) -> np.ndarray:
    """Sampling probabilities of scenes, from per-(foreground, background) weights."""
    raw = np.array([focus.get((s.colour, s.background), 1.0) for s in scenes], dtype=np.float64)
    return raw / raw.sum()
