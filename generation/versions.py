"""Model versions: shipped ones in the package, user ones in the model dir, one active.

Each version is a folder with ``version.json`` (name, kind, parent, created, content hash,
evaluation). The active version and the history behind ``rollback`` persist in
``<model_dir>/active.json``, written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .errors import GenerationError, ModelLoadError, UnknownVersion

SHIPPED_DIR = Path(__file__).parent / "models"
DEFAULT_VERSION = "canvas-shapes"
METADATA = "version.json"
STATE = "active.json"
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")  # a folder name on any filesystem


@dataclass(frozen=True)
class Version:
    """One loadable model: a base (full UNet) or an adapter (LoRA on a parent)."""

    name: str
    kind: str  # "base" or "adapter"
    parent: str | None
    content_hash: str
    created: str
    path: Path
    shipped: bool = False
    evaluation: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-friendly view for the CLI and the web layer."""
        data = asdict(self)
        data["path"] = str(self.path)
        return data


def weight_files(folder: Path) -> list[Path]:
    """The safetensors files of a version folder, sorted."""
    return sorted(folder.rglob("*.safetensors"))


def content_hash(folder: Path) -> str:
    """sha256 over the version's weight files (relative name and bytes)."""
    digest = hashlib.sha256()
    for path in weight_files(folder):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return "sha256:" + digest.hexdigest()


def write_json_atomic(path: Path, data: dict) -> None:
    """Write JSON through a temporary file and ``os.replace``, so readers never see half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")
    os.replace(tmp, path)


def write_metadata(folder: Path, name: str, kind: str, parent: str | None, **extra) -> dict:
    """Create ``version.json`` for a folder whose weights are already written."""
    data = {
        "name": name,
        "kind": kind,
        "parent": parent,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "content_hash": content_hash(folder),
        "evaluation": {},
        **extra,
    }
    write_json_atomic(folder / METADATA, data)
    return data


class Registry:
    """Lists, activates and rolls back versions; knows which one is active."""

    def __init__(self, model_dir: str | os.PathLike, shipped_dir: Path | None = SHIPPED_DIR):
        self.model_dir = Path(model_dir)
        self.shipped_dir = shipped_dir
        self._lock = threading.Lock()

    def _read(self, folder: Path, shipped: bool) -> Version | None:
        meta = folder / METADATA
        if not meta.is_file():
            return None
        try:
            data = json.loads(meta.read_text())
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"unreadable version metadata {meta}: {exc}") from exc
        known = {"name", "kind", "parent", "content_hash", "created", "evaluation"}
        return Version(
            name=data["name"],
            kind=data["kind"],
            parent=data.get("parent"),
            content_hash=data.get("content_hash", ""),
            created=data.get("created", ""),
            path=folder,
            shipped=shipped,
            evaluation=data.get("evaluation", {}),
            details={k: v for k, v in data.items() if k not in known},
        )

    def list(self) -> list[Version]:
        """Every version, shipped first, then user versions by name."""
        found: dict[str, Version] = {}
        roots = [(self.shipped_dir, True), (self.model_dir, False)]
        for root, shipped in roots:
            if root is None or not root.is_dir():
                continue
            for folder in sorted(p for p in root.iterdir() if p.is_dir()):
                version = self._read(folder, shipped)
                if version is not None and version.name not in found:
                    found[version.name] = version
        return list(found.values())

    def get(self, name: str) -> Version:
        """The version called ``name``; raises UnknownVersion."""
        for version in self.list():
            if version.name == name:
                return version
        raise UnknownVersion(f"unknown model version {name!r}")

    def names(self) -> list[str]:
        """Names of all versions."""
        return [v.name for v in self.list()]

    def _state(self) -> dict:
        path = self.model_dir / STATE
        if not path.is_file():
            return {"active": DEFAULT_VERSION, "history": []}
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise GenerationError(f"unreadable version state {path}: {exc}") from exc

    @property
    def active(self) -> str:
        """Name of the active version (the shipped base until something is activated)."""
        return self._state()["active"]

    def activate(self, name: str) -> Version:
        """Make ``name`` active, remembering the previous one for ``rollback``."""
        with self._lock:
            version = self.get(name)
            state = self._state()
            if state["active"] != name:
                state["history"] = (state.get("history", []) + [state["active"]])[-20:]
                state["active"] = name
                write_json_atomic(self.model_dir / STATE, state)
            return version

    def rollback(self) -> Version:
        """Re-activate the previously active version."""
        with self._lock:
            state = self._state()
            history = list(state.get("history", []))
            if not history:
                raise GenerationError("no previous version to roll back to")
            state["active"] = history.pop()
            state["history"] = history
            write_json_atomic(self.model_dir / STATE, state)
            return self.get(state["active"])

    def chain(self, name: str, base: str | None = None) -> list[Version]:
        """The version and its ancestors, base first.

        ``base`` names an external checkpoint (not a registry version) that adapters may sit
        on: the walk stops below it, so the chain holds the adapters only.
        """
        chain = [self.get(name)]
        while chain[0].parent and chain[0].parent != base:
            chain.insert(0, self.get(chain[0].parent))
            if len(chain) > 8:
                raise ModelLoadError(f"version {name!r} has a parent cycle")
        return chain

    def verify(self, version: Version) -> None:
        """Check the weight files exist and match the recorded content hash."""
        files = weight_files(version.path)
        if not files:
            raise ModelLoadError(
                f"version {version.name!r}: no .safetensors file in {version.path}"
            )
        if version.content_hash and content_hash(version.path) != version.content_hash:
            names = ", ".join(str(p) for p in files)
            raise ModelLoadError(
                f"version {version.name!r}: weight file changed or corrupt (hash mismatch): {names}"
            )

    def add_adapter(self, weights: Path, name: str, parent: str) -> Version:
        """Register a LoRA safetensors file as an adapter version on ``parent``.

        ``parent`` is a registry version or the external checkpoint as ``SAFECANVAS_MODEL``
        names it. The file is copied into the model dir; only its safetensors header is read.

        Raises:
            GenerationError: the name is taken, or the file is not a safetensors file.
        """
        from safetensors import SafetensorError, safe_open

        if not NAME_PATTERN.match(name):
            raise GenerationError(f"{name!r}: use lower-case letters, digits, '.', '_', '-'")
        if name in self.names():
            raise GenerationError(f"a version called {name!r} exists already")
        try:
            with safe_open(str(weights), framework="pt") as handle:
                if not list(handle.keys()):
                    raise GenerationError(f"{weights} holds no tensors")
        except (OSError, SafetensorError) as exc:
            raise GenerationError(f"{weights} is not a readable safetensors file: {exc}") from exc
        folder = self.model_dir / name
        folder.mkdir(parents=True)
        shutil.copyfile(weights, folder / "pytorch_lora_weights.safetensors")
        write_metadata(folder, name, "adapter", parent, source=str(weights))
        return self.get(name)

    def set_evaluation(self, name: str, evaluation: dict) -> None:
        """Record evaluation figures in the version's metadata."""
        version = self.get(name)
        data = json.loads((version.path / METADATA).read_text())
        data["evaluation"] = evaluation
        write_json_atomic(version.path / METADATA, data)
