"""Our torch BERT and WordPiece against transformers' on the same all-MiniLM-L6-v2 weights."""

from __future__ import annotations

import pytest
import torch

from textencoder import default_encoder_path
from textencoder.minilm import MiniLM, WordPiece

TEXTS = [
    "three yellow triangles on a blue background",
    "A Knight in ARMOR, misty forest — by Greg Rutkowski, trending on artstation, 8k!",
    "naïve café crème brûlée, 東京, emoji 🚀, zero\u200bwidth",
    "",
    "word " * 300,  # far beyond the 128-token cap
]


@pytest.fixture(scope="module")
def reference():
    """transformers' tokenizer and BertModel on the packaged weights."""
    transformers = pytest.importorskip("transformers")
    path = default_encoder_path()
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    model = transformers.AutoModel.from_pretrained(path, use_safetensors=True).eval()
    return tokenizer, model


@pytest.mark.parametrize(("max_length", "pad_to_max"), [(128, False), (16, True)])
def test_wordpiece_matches_transformers(reference, max_length: int, pad_to_max: bool) -> None:
    tokenizer, _ = reference
    ours = WordPiece(default_encoder_path())(TEXTS, max_length, pad_to_max=pad_to_max)
    theirs = tokenizer(
        TEXTS,
        padding="max_length" if pad_to_max else True,
        truncation=True,
        max_length=max_length,
        return_tensors="pt",
    )
    assert torch.equal(ours["input_ids"], theirs["input_ids"])
    assert torch.equal(ours["attention_mask"], theirs["attention_mask"])


def test_minilm_matches_transformers_token_states(reference) -> None:
    tokenizer, model = reference
    batch = tokenizer(TEXTS, padding=True, truncation=True, max_length=128, return_tensors="pt")
    ours = MiniLM.from_folder(default_encoder_path())
    with torch.inference_mode():
        expected = model(**batch).last_hidden_state
        got = ours(batch["input_ids"], batch["attention_mask"])
    mask = batch["attention_mask"].bool()
    assert got.shape == expected.shape
    assert (got - expected)[mask].abs().max() < 1e-4  # padded positions are never read


def test_minilm_refuses_a_non_bert_config(tmp_path) -> None:
    (tmp_path / "config.json").write_text('{"model_type": "gpt2"}', encoding="utf-8")
    with pytest.raises(ValueError, match="BERT"):
        MiniLM.from_folder(tmp_path)
