"""training/pretrain.py end to end on CPU: a tiny model learns, resumes exactly, fails early on bad input."""

import json
import time
from pathlib import Path

import pytest
import torch

from training.pretrain import main

FAST = ["--disable_tqdm", "true", "--logging_steps", "1", "--save_strategy", "no",
        "--per_device_train_batch_size", "4", "--hidden_size", "64", "--intermediate_size", "128",
        "--num_hidden_layers", "2", "--num_attention_heads", "2", "--num_key_value_heads", "2"]


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    """96 rows of the ``tiny`` config written once as a parquet folder (as `nca generate` lays it out), so the
    tests train on real builder rows without paying the on-the-fly generator's start-up in every run."""
    from training.data import write_sample_folder

    return str(write_sample_folder(tmp_path_factory.mktemp("tiny-data"), "tiny", 96,
                                   candidates_per_round=128))


def _weights(path):
    from safetensors.torch import load_file

    return load_file(str(Path(path) / "model.safetensors"))


def _losses(out):
    history = json.loads((Path(out) / "trainer_state.json").read_text())["log_history"]
    return [h["loss"] for h in history if "loss" in h]


def test_tiny_model_loss_falls_and_checkpoint_is_complete(tmp_path, tiny_folder):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = main(["--config", "tiny-cpu", "--dataset_name", tiny_folder, "--output_dir", str(tmp_path / "run"),
                "--max_steps", "20",
                "--learning_rate", "5e-3", "--warmup_steps", "2", *FAST])
    losses = _losses(out)
    assert len(losses) == 20
    first, last = sum(losses[:3]) / 3, sum(losses[-5:]) / 5
    assert first > 5.0 and last < first - 0.4, losses  # starts near ln(261) ≈ 5.56
    enc = json.loads((Path(out) / "nca_encoding.json").read_text())
    assert enc["encoding"] == "patch" and enc["token_offset"] == 0 and enc["n_states"] == 4
    assert enc["recipe"] == "tiny-cpu" and enc["data_config"]["height"] == 8
    tok = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    assert len(tok) == model.config.vocab_size == 4**4 + 2 + 3
    card = (Path(out) / "README.md").read_text()
    assert "tiny-cpu" in card and "Loss masking" in card and '"n_states": 4' in card
    info = json.loads((Path(out) / "run_info" / "rank0.json").read_text())
    assert info["world_size"] == 1 and info["steps"] == 20


def test_resume_matches_uninterrupted_run(tmp_path, tiny_folder):
    args = ["--config", "tiny-cpu", "--dataset_name", tiny_folder, "--max_steps", "6", "--warmup_steps", "2", *FAST,
            "--save_strategy", "steps", "--save_steps", "3", "--save_total_limit", "5"]
    straight = main([*args, "--output_dir", str(tmp_path / "a")])
    ckpt = Path(straight) / "checkpoint-3"
    assert (ckpt / "nca_encoding.json").is_file() and (ckpt / "tokenizer.json").is_file()
    resumed = main([*args, "--output_dir", str(tmp_path / "b"), "--resume_from_checkpoint", str(ckpt)])
    a, b = _weights(straight), _weights(resumed)
    three = _weights(ckpt)
    assert any(not torch.equal(a[k], three[k]) for k in a)  # steps 4-6 did change the weights
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=0, atol=1e-6, msg=key)


def test_masking_first_frame_and_delimiters():
    from nca_core.tokens import PatchTokenizer
    from training.data import IGNORE, RowEncoder

    pt = PatchTokenizer(4, 2, 8, 8)
    ids = pt.encode(torch.randint(0, 4, (3, 8, 8), generator=torch.Generator().manual_seed(0))).tolist()
    row = RowEncoder(pt, "patch", token_offset=5, mask_first_frame=True, mask_delimiters=True)({"input_ids": ids})
    per = pt.tokens_per_frame
    assert row["input_ids"] == [i + 5 for i in ids]
    assert all(x == IGNORE for x in row["labels"][:per])
    for i, lab in zip(ids[per:], row["labels"][per:]):
        assert lab == (IGNORE if i >= pt.num_patch_ids else i + 5)


def test_unknown_recipe_key_is_an_error(tmp_path):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text("dataset_name: tiny\nfrom_scratch: true\nmax_steps: 2\nlearnin_rate: 0.1\n")
    with pytest.raises(ValueError, match="learnin_rate"):
        main(["--config", str(recipe), "--output_dir", str(tmp_path / "o")])
    with pytest.raises(ValueError):
        main(["--config", "tiny-cpu", "--no_such_flag", "3", "--output_dir", str(tmp_path / "o")])
    with pytest.raises(FileNotFoundError, match="tiny-cpu"):
        main(["--config", "no-such-recipe"])


def test_hub_ids_fail_fast_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for extra in (["--dataset_name", "someone/nca-data"],
                  ["--from_scratch", "false", "--tokenizer_mode", "extend", "--model_name_or_path", "Qwen/Qwen2.5-0.5B"],
                  ["--push_to_hub", "true"]):
        start = time.perf_counter()
        with pytest.raises(ValueError, match="offline|HF_HUB_OFFLINE"):
            main(["--config", "tiny-cpu", "--output_dir", str(tmp_path / "o"), *extra])
        assert time.perf_counter() - start < 20


def test_dataset_vocabulary_must_fit_the_model(tmp_path, tiny_folder):
    small = main(["--config", "tiny-cpu", "--dataset_name", tiny_folder, "--output_dir", str(tmp_path / "small"), "--max_steps", "1", *FAST])
    start = time.perf_counter()
    with pytest.raises(ValueError, match="vocabulary|embedding rows"):
        main(["--config", "tiny-cpu", "--from_scratch", "false", "--model_name_or_path", small,
              "--dataset_overrides", "n_states=10", "--output_dir", str(tmp_path / "o"), "--max_steps", "1", *FAST])
    assert time.perf_counter() - start < 60


def test_nca_train_cli(tmp_path, tiny_folder):
    from nca_cli.main import main as nca

    out = tmp_path / "cli"
    code = nca(["train", "--config", "tiny-cpu", "--dataset_name", tiny_folder, "--max_steps", "2", "--output_dir", str(out), *FAST])
    assert code == 0 and (out / "model.safetensors").is_file() and (out / "nca_encoding.json").is_file()
    assert nca(["train", "--config", "tiny-cpu", "--encoding", "pixels", "--output_dir", str(out)]) == 2
