"""``nca generate | preview | labels | plot-labels | visualize | upload`` through the real dispatcher."""

import json
from pathlib import Path

import datasets
import numpy as np
import pytest
import torch
from PIL import Image

from nca_cli.main import main

GEN = ["--config", "tiny", "--set", "shard_size=8", "--set", "candidates_per_round=16", "--device", "cpu", "--quiet"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "ds"
    torch.set_num_threads(1)
    assert main(["generate", *GEN, "--num-sequences", "12", "--out", str(out)]) == 0
    return out


def test_generate_then_rerun_is_a_no_op(folder, capsys):
    before = {p: p.read_bytes() for p in sorted((folder / "data").glob("*"))}
    assert main(["generate", *GEN, "--num-sequences", "12", "--out", str(folder)]) == 0
    assert {p: p.read_bytes() for p in sorted((folder / "data").glob("*"))} == before
    assert "train: 12 rows / 2 shards" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--config", "nope"], "unknown data config 'nope'"),
    (["--config", "tiny", "--set", "grid=8", "--set", "height=10"], "contradicting overrides"),
    (["--config", "tiny", "--seed", "1", "--set", "seed=2"], "contradicting overrides"),
    (["--config", "tiny", "--set", "frames"], "KEY=VALUE"),
])
def test_generate_bad_input_is_a_clean_error(argv, message, tmp_path, capsys):
    assert main(["generate", *argv, "--num-sequences", "4", "--out", str(tmp_path / "x")]) == 2
    assert message in capsys.readouterr().err


def test_generate_into_a_folder_of_another_dataset(folder, capsys):
    assert main(["generate", *GEN, "--seed", "5", "--num-sequences", "12", "--out", str(folder)]) == 2
    assert "holds a different dataset" in capsys.readouterr().err


def test_labels_recomputed_from_tokens_match_the_stored_ones(folder, tmp_path):
    out = tmp_path / "labels.jsonl"
    assert main(["labels", str(folder), "--out", str(out)]) == 0
    labels = [json.loads(line) for line in out.read_text().splitlines()]
    stored = datasets.load_dataset(str(folder), split="train")
    assert len(labels) == 12
    for lab, row in zip(labels, stored):
        assert lab["entropy"] == pytest.approx(row["entropy"]) and lab["period"] == row["period"]
        assert lab["activity"] == pytest.approx(row["activity"])
        assert lab["rule_spec"] == row["rule_spec"]
    png = tmp_path / "from_jsonl.png"
    assert main(["plot-labels", str(out), "--out", str(png)]) == 0
    assert Image.open(png).size[0] > 500


def test_plot_visualize_preview(folder, tmp_path):
    assert main(["plot-labels", str(folder), "--out", str(tmp_path / "l.png")]) == 0
    assert Image.open(tmp_path / "l.png").format == "PNG"
    assert main(["visualize", str(folder), "--index", "3", "--out", str(tmp_path / "s.gif"), "--scale", "4"]) == 0
    gif = Image.open(tmp_path / "s.gif")
    assert gif.n_frames == 8 and gif.size == (32, 32)
    assert main(["visualize", str(folder), "--index", "99", "--out", str(tmp_path / "s.png")]) == 2
    prev = tmp_path / "prev"
    assert main(["preview", *GEN[:-1], "--num", "3", "--out", str(prev)]) == 0
    rows = [json.loads(x) for x in (prev / "preview.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and len(list(prev.glob("sample-*.png"))) == 3
    assert np.asarray(rows[0]["input_ids"]).max() <= 4**4 + 1


def test_upload_creates_the_repo_and_uploads_the_folder_load_dataset_reads(folder, monkeypatch, capsys):
    from huggingface_hub import HfApi

    calls = []
    monkeypatch.setattr(HfApi, "create_repo", lambda self, repo_id, **kw: calls.append(("create", repo_id, kw)))
    monkeypatch.setattr(HfApi, "upload_folder", lambda self, **kw: calls.append(("upload", kw)))
    assert main(["upload", str(folder), "--repo-id", "me/nca-tiny", "--private"]) == 0
    (c_name, repo, c_kw), (u_name, u_kw) = calls
    assert (c_name, repo, c_kw["repo_type"], c_kw["private"]) == ("create", "me/nca-tiny", "dataset", True)
    assert u_name == "upload" and u_kw["repo_id"] == "me/nca-tiny" and u_kw["repo_type"] == "dataset"
    uploaded = Path(u_kw["folder_path"])
    assert uploaded.resolve() == folder.resolve()
    assert datasets.load_dataset(str(uploaded), split="train").num_rows == 12
    calls.clear()
    assert main(["upload", str(folder), "--repo-id", "me/nca-tiny", "--dry-run"]) == 0
    assert calls == [] and "README.md" in capsys.readouterr().out


def test_upload_refuses_an_unfinished_or_damaged_folder(folder, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    shard = sorted((copy / "data").glob("*.parquet"))[0]
    shard.write_bytes(shard.read_bytes()[:-10])
    assert main(["upload", str(copy), "--repo-id", "me/x", "--dry-run"]) == 2
    assert "does not match its manifest" in capsys.readouterr().err
    (copy / "manifest.json").unlink()
    assert main(["upload", str(copy), "--repo-id", "me/x", "--dry-run"]) == 2
