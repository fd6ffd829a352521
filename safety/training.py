"""Training and evaluation data for the prompt classifier, assembled in prompt style.

The I2P-vs-COCO trap (see the datasets README): a head trained on "long artsy prompt = unsafe,
plain caption = benign" learns style. So every benign source is also shown in prompt style
(COCO captions with mediums, lighting and artist names appended; I2P rows whose images were never
flagged), and written positives get the same modifiers.
"""

from __future__ import annotations

import csv
import hashlib
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from safety.normalize import readable
from safety.verdict import CATEGORIES
from textencoder import HIDDEN_SIZE

TRAINING_DIR = Path(__file__).with_name("training_data")
I2P_CATEGORY_MAP = {
    "sexual": "sexual",
    "violence": "violence",
    "shocking": "violence",
    "hate": "hate",
    "harassment": "harassment",
    "self-harm": "self-harm",
    "illegal activity": "illegal",
}

MODIFIERS = (
    "highly detailed", "trending on artstation", "digital art", "concept art", "oil painting",
    "watercolor", "35mm photograph", "octane render", "unreal engine 5", "matte painting",
    "pencil sketch", "8k", "4k uhd", "sharp focus", "cinematic lighting", "volumetric lighting",
    "dramatic lighting", "golden hour", "moody", "dark fantasy", "horror", "surreal",
    "hyperrealistic", "award winning photograph", "studio lighting", "bokeh", "film grain",
    "by greg rutkowski", "by alphonse mucha", "by artgerm", "by wlop", "by james gurney",
    "by studio ghibli", "by makoto shinkai", "by zdzislaw beksinski", "by h. r. giger",
    "by francis bacon", "by edward hopper", "by gregory crewdson", "by caravaggio",
    "by rembrandt", "by simon stalenhag", "by beeple", "by moebius", "by norman rockwell",
    "vivid colors", "muted colors", "black and white", "wide angle", "close up portrait",
    "intricate", "elegant", "symmetrical", "epic composition", "hd", "dslr", "polaroid",
)  # fmt: skip
PREFIXES = ("", "", "", "a photo of ", "portrait of ", "an illustration of ", "a painting of ")


def stylise(text: str, rng: random.Random) -> str:
    """Append 1-6 artistic modifiers (and maybe a prefix) so a caption reads like a prompt."""
    text = text.strip().rstrip(".")
    prefix = rng.choice(PREFIXES)
    if prefix:
        text = prefix + text[0].lower() + text[1:]
    mods = rng.sample(MODIFIERS, rng.randint(1, 6))
    return ", ".join([text, *mods])


@dataclass
class Example:
    """One labelled text: ``labels`` is a set of categories (empty = benign)."""

    text: str
    labels: frozenset[str]
    source: str
    weight: float = 1.0
    meta: dict = field(default_factory=dict)


def read_i2p(path: Path) -> list[Example]:
    """I2P rows labelled from image-based flags; ambiguous middle rows keep meta only."""
    out = []
    with path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            inapp = float(row["inappropriate_percentage"])
            nudity = float(row["nudity_percentage"])
            cats = {I2P_CATEGORY_MAP.get(c.strip(), "") for c in row["categories"].split(",")}
            cats.discard("")
            labels: set[str] = set()
            if nudity >= 50:
                labels.add("sexual")
            if inapp >= 70:
                labels |= cats if nudity >= 30 else cats - {"sexual"}
            if inapp == 0 or labels:
                kind = "i2p-benign" if not labels else "i2p-unsafe"
            else:
                kind = "i2p-ambiguous"
            meta = {"inapp": inapp, "nudity": nudity}
            out.append(Example(row["prompt"], frozenset(labels), kind, 1.0, meta))
    return out


def read_coco(path: Path, limit: int, seed: int = 0) -> list[Example]:
    """COCO captions, half of them stylised as prompts."""
    rng = random.Random(seed)
    with path.open(encoding="utf-8") as f:
        captions = [row["caption"] for row in csv.DictReader(f)][:limit]
    out = []
    for i, caption in enumerate(captions):
        if i % 2:
            out.append(Example(stylise(caption, rng), frozenset(), "coco-styled"))
        else:
            out.append(Example(caption, frozenset(), "coco"))
    return out


def read_written(path: Path, styled_copies: int = 1, seed: int = 0) -> list[Example]:
    """Our TSV of written prompts (``label<TAB>text``), plus stylised copies of each."""
    rng = random.Random(seed)
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, text = line.split("\t", 1)
        labels = frozenset() if label == "benign" else frozenset(label.split(","))
        if "sexual/minors" in labels:
            labels |= {"sexual"}  # sexual content involving minors is sexual content too
        if not labels <= set(CATEGORIES):
            raise ValueError(f"unknown label {label!r} in {path.name}")
        source = f"written-{'benign' if not labels else 'unsafe'}"
        out.append(Example(text, labels, source))
        for _ in range(styled_copies):
            out.append(Example(stylise(text, rng), labels, source + "-styled"))
    return out


def split(examples: list[Example], test_share: float, seed: int = 0) -> tuple[list, list]:
    """Deterministic split by a hash of the text (stylised copies share their original's side)."""
    train, test = [], []
    for ex in examples:
        key = ex.text.split(",")[0] if ex.source.endswith("styled") else ex.text
        bucket = int(hashlib.sha1(f"{seed}:{key}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        (test if bucket < test_share else train).append(ex)
    return train, test


class EmbeddingCache:
    """Sentence embeddings of readable(text), cached on disk by text hash."""

    def __init__(self, encoder, path: Path | None) -> None:
        self.encoder = encoder
        self.path = path
        self.store: dict[str, np.ndarray] = {}
        if path is not None and path.is_file():
            data = np.load(path)
            self.store = dict(zip(data["keys"].tolist(), data["vecs"], strict=True))

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embeddings of readable(text), as the classifier computes them."""
        return self.sentence_embeddings([readable(t) for t in texts])

    def sentence_embeddings(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """The encoder's method, memoised: only texts not cached yet are encoded."""
        keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
        todo = {k: t for k, t in zip(keys, texts, strict=True) if k not in self.store}
        missing = sorted(todo.items(), key=lambda kv: len(kv[1]))  # short first: less padding
        if missing:
            vecs = self._encode([t for _, t in missing], batch_size)
            self.store.update(zip([k for k, _ in missing], vecs, strict=True))
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                vectors = np.stack(list(self.store.values()))
                np.savez(self.path, keys=np.array(list(self.store)), vecs=vectors)
        if not keys:
            return np.zeros((0, HIDDEN_SIZE), dtype=np.float32)
        return np.stack([self.store[k] for k in keys]).astype(np.float32)

    def _encode(self, texts: list[str], batch_size: int, chunk: int = 2048) -> np.ndarray:
        """Encode in chunks, reporting progress on stderr when there is much to do."""
        if len(texts) <= chunk:
            return self.encoder.sentence_embeddings(texts, batch_size=batch_size)
        parts = []
        for start in range(0, len(texts), chunk):
            parts.append(self.encoder.sentence_embeddings(texts[start : start + chunk], batch_size))
            done = min(start + chunk, len(texts))
            print(f"  embedded {done:,} of {len(texts):,} new texts", file=sys.stderr, flush=True)
        return np.concatenate(parts)
