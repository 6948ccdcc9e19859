"""Data side of training: text interleaving at a ratio, overrides parsing, push with a model card (mocked Hub)."""

import json
from pathlib import Path

import pytest

from training.data import interleave, parse_overrides, text_dataset


def _nca_rows(n):
    import datasets

    return datasets.IterableDataset.from_generator(
        lambda: ({"input_ids": [1, 2, 3], "labels": [1, 2, 3]} for _ in range(n)),
        features=datasets.Features({"input_ids": datasets.List(datasets.Value("int64")),
                                    "labels": datasets.List(datasets.Value("int64"))}))


def test_text_interleaved_at_the_chosen_ratio(tmp_path):
    from training.tokenization import qwen_tokenizer

    tok = qwen_tokenizer()
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"text": f"Sentence number {i} about cells."}) + "\n" for i in range(50)))
    text = text_dataset(str(corpus), tok, max_length=64)
    first = next(iter(text))
    assert first["input_ids"][-1] == tok.eos_token_id and first["labels"] == first["input_ids"]
    assert tok.decode(first["input_ids"][:-1]) == "Sentence number 0 about cells."
    mixed = interleave(_nca_rows(1000), text, 0.25, seed=0)
    rows = [r for _, r in zip(range(400), mixed)]
    share = sum(r["input_ids"] != [1, 2, 3] for r in rows) / len(rows)
    assert 0.17 < share < 0.33
    with pytest.raises(ValueError, match="text_ratio"):
        interleave(_nca_rows(10), text, 1.5, seed=0)


def test_parse_overrides():
    assert parse_overrides("frames=10,band_lower=0.3") == {"frames": 10, "band_lower": 0.3}
    assert parse_overrides('{"n_states": 4}') == {"n_states": 4}
    assert parse_overrides({"seed": 2}) == {"seed": 2} and parse_overrides(None) == {}
    with pytest.raises(ValueError, match="key=value"):
        parse_overrides("frames")


def test_push_to_hub_uploads_folder_with_card(tmp_path, monkeypatch):
    import huggingface_hub

    from training.data import write_sample_folder
    from training.pretrain import main

    calls = []

    class FakeApi:
        def __init__(self, token=None):
            pass

        def create_repo(self, repo_id, private=None, exist_ok=False):
            calls.append(("create_repo", repo_id))

        def upload_folder(self, repo_id, folder_path, **kwargs):
            calls.append(("upload_folder", repo_id, sorted(p.name for p in Path(folder_path).iterdir())))

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    for key in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.setenv(key, "0")
    data = write_sample_folder(tmp_path / "data", "tiny", 8, candidates_per_round=32)
    out = main(["--config", "tiny-cpu", "--dataset_name", str(data), "--max_steps", "1", "--hidden_size", "32",
                "--intermediate_size", "64", "--num_hidden_layers", "1", "--num_attention_heads", "2",
                "--num_key_value_heads", "2", "--save_strategy", "no", "--mask_first_frame", "true",
                "--push_to_hub", "true", "--hub_model_id", "me/nca-tiny", "--output_dir", str(tmp_path / "run")])
    assert calls[0] == ("create_repo", "me/nca-tiny")
    assert calls[1][0] == "upload_folder" and {"README.md", "nca_encoding.json", "model.safetensors"} <= set(calls[1][2])
    card = (Path(out) / "README.md").read_text()
    assert "first frame" in card and "recipe: tiny-cpu" in card and '"height": 8' in card
