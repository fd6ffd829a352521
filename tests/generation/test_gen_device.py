"""Device choice: explicit devices win; several GPUs are spread over the serving processes."""

from __future__ import annotations

import pytest
import torch

from generation.errors import ModelLoadError
from generation.loaders import pick_device


@pytest.fixture
def gpus(monkeypatch):
    """Pretend torch sees N CUDA devices (the choice is what is tested, not CUDA)."""

    def see(n: int) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: n > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: n)

    return see


def test_each_slot_gets_its_own_gpu(gpus):
    gpus(4)
    assert [pick_device(None, slot) for slot in range(4)] == [f"cuda:{i}" for i in range(4)]
    assert pick_device("auto", 5) == "cuda:1"  # more processes than GPUs: they share
    assert pick_device("cuda", 2) == "cuda:2"


def test_an_explicit_device_wins(gpus):
    gpus(2)
    assert pick_device("cuda:1", 0) == "cuda:1"
    assert pick_device("cpu", 1) == "cpu"


def test_without_a_gpu(gpus):
    gpus(0)
    assert pick_device("auto", 3) in {"cpu", "mps"}
    with pytest.raises(ModelLoadError, match="no CUDA device"):
        pick_device("cuda")
