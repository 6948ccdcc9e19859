"""``nca generate``: Hub layout, load_dataset, global uniqueness, num_proc / shard-index invariance,
resume after SIGKILL, and clear errors (other dataset, corrupt shard, full disk)."""

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import datasets
import numpy as np
import pytest
import torch

from dataset_builder.configs import get_config
from dataset_builder.materialise import MaterialiseError, materialise, verify_folder

SMALL = {"shard_size": 8, "candidates_per_round": 16}
# tiny 4×4 life-like grids: different rules/seeds often give identical sequences, across shards too
DUPLICATE_PRONE = dict(grid=4, frames=3, max_tokens=None, band=(0.0, 1.0), drop_trivial=False, **SMALL)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def data_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / "data").glob("*.parquet"))}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "ds"
    torch.set_num_threads(1)
    manifest = materialise(get_config("tiny", **SMALL), out, 28, num_validation=8, device="cpu", progress=False)
    return out, manifest


def test_folder_loads_with_datasets_and_matches_manifest(reference):
    out, manifest = reference
    assert manifest["splits"]["train"] == {"num_rows": 28, "num_shards": 4,
                                           "num_bytes": manifest["splits"]["train"]["num_bytes"]}
    assert verify_folder(out) == []
    ds = datasets.load_dataset(str(out))
    assert ds["train"].num_rows == 28 and ds["validation"].num_rows == 8
    row = ds["train"][0]
    assert len(row["input_ids"]) == 8 * 18 and row["family"] == "neural" and row["complexity_scale"]
    assert "frames" not in row and "content_hash" not in row
    assert row["split"] == "train" and row["complexity_band"] == "gzip-int32-ref:(0.2,1)"
    stream = datasets.load_dataset(str(out), streaming=True)
    assert [r["init_seed"] for r in stream["train"]] == ds["train"]["init_seed"]
    card = (out / "README.md").read_text()
    assert "configs:" in card and "dataset_info:" in card and "out_of_band" in card and "labels.png" in card
    assert (out / "images" / "labels.png").stat().st_size > 1000
    assert set(ds["train"]["rule_spec"]).isdisjoint(ds["validation"]["rule_spec"])


def test_same_bytes_for_any_num_proc(reference, tmp_path):
    out, _ = reference
    other = tmp_path / "p2"
    materialise(get_config("tiny", **SMALL), other, 28, num_validation=8, num_proc=2, device="cpu", progress=False)
    assert data_bytes(other) == data_bytes(out)
    for name in ("README.md", "manifest.json", "images/labels.png"):
        assert (other / name).read_bytes() == (out / name).read_bytes(), name


def test_shard_index_parts_do_not_overlap_and_merge_to_the_same(reference, tmp_path):
    out, _ = reference
    cfg = get_config("tiny", **SMALL)
    part = tmp_path / "parts"
    first = materialise(cfg, part, 28, num_validation=8, shard_index=0, num_shards=2, device="cpu", progress=False)
    assert first["complete"] is False and first["missing_shards"] == 2
    names0 = set(data_bytes(part))
    materialise(cfg, part, 28, num_validation=8, shard_index=1, num_shards=2, device="cpu", progress=False)
    assert len(names0) == 3 and names0 < set(data_bytes(part))
    assert data_bytes(part) == data_bytes(out)  # finalised by the last part
    assert json.loads((part / "manifest.json").read_text())["files"] == \
        json.loads((out / "manifest.json").read_text())["files"]


def test_rows_are_unique_across_the_whole_dataset(tmp_path):
    cfg = get_config("lifelike", **DUPLICATE_PRONE)
    manifest = materialise(cfg, tmp_path / "d", 40, device="cpu", progress=False)
    ds = datasets.load_dataset(str(tmp_path / "d"), split="train")
    seqs = [tuple(x) for x in ds["input_ids"]]
    assert len(seqs) == 40 and len(set(seqs)) == 40
    assert manifest["filters"]["train"]["duplicate"] > 0
    assert any(json.loads(p.read_text()).get("regenerated_for_uniqueness")
               for p in (tmp_path / "d" / ".nca" / "done").glob("*.json"))


@pytest.mark.slow
def test_global_dedup_is_independent_of_num_proc(tmp_path):
    cfg = get_config("lifelike", **DUPLICATE_PRONE)
    materialise(cfg, tmp_path / "d1", 40, device="cpu", progress=False)
    materialise(cfg, tmp_path / "d2", 40, num_proc=2, device="cpu", progress=False)
    assert data_bytes(tmp_path / "d2") == data_bytes(tmp_path / "d1")


def test_errors_other_dataset_and_foreign_folder(reference, tmp_path):
    out, _ = reference
    with pytest.raises(MaterialiseError, match="holds a different dataset.*frames"):
        materialise(get_config("tiny", frames=6, **SMALL), out, 28, num_validation=8, device="cpu", progress=False)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(MaterialiseError, match="not empty"):
        materialise(get_config("tiny", **SMALL), foreign, 8, device="cpu", progress=False)
    assert (foreign / "notes.txt").read_text() == "mine"


def test_corrupt_shard_is_reported_then_repaired(reference, tmp_path):
    import shutil

    src, _ = reference
    out = tmp_path / "c"
    shutil.copytree(src, out)
    victim = sorted((out / "data").glob("train-*.parquet"))[1]
    good = victim.read_bytes()
    victim.write_bytes(good[:100] + b"garbage" + good[107:])
    cfg = get_config("tiny", **SMALL)
    with pytest.raises(MaterialiseError, match=f"{victim.name} .*corrupt.*--repair"):
        materialise(cfg, out, 28, num_validation=8, device="cpu", progress=False)
    assert victim.read_bytes() != good  # nothing touched without --repair
    materialise(cfg, out, 28, num_validation=8, device="cpu", repair=True, progress=False)
    assert victim.read_bytes() == good and verify_folder(out) == []


def test_full_disk_is_a_clear_error_and_keeps_finished_shards(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    real = pq.write_table
    calls = {"n": 0}

    def flaky(table, where, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            Path(where).write_bytes(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(table, where, **kw)

    monkeypatch.setattr(pq, "write_table", flaky)
    cfg = get_config("tiny", **SMALL)
    out = tmp_path / "full"
    with pytest.raises(MaterialiseError, match="disk is full.*rerun the same command"):
        materialise(cfg, out, 24, device="cpu", progress=False)
    assert [p.name for p in (out / "data").iterdir()] == ["train-00000-of-00003.parquet"]
    monkeypatch.setattr(pq, "write_table", real)
    materialise(cfg, out, 24, device="cpu", progress=False)
    assert verify_folder(out) == [] and len(list((out / "data").iterdir())) == 3


@pytest.mark.slow
def test_resume_after_sigkill_gives_the_uninterrupted_result(tmp_path):
    shards = 100  # ≈ 10 ms each: a wide window to kill the run in (12 shards once finished within one poll)
    args = ["--config", "tiny", "--num-sequences", str(8 * shards), "--set", "shard_size=8",
            "--set", "candidates_per_round=16", "--device", "cpu", "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "nca_cli.main", "generate", *args]
    killed = tmp_path / "killed"
    proc = subprocess.Popen([*cmd, "--out", str(killed)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done = killed / ".nca" / "done"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and len(list(done.glob("*.json"))) < 3:
        time.sleep(0.005)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / "manifest.json").exists()
    finished = len(list(done.glob("*.json")))
    assert 3 <= finished < shards
    # what a kill in mid-write leaves (planted, so the check does not hang on the kill's timing)
    pending = sorted({f"train-{i:05d}" for i in range(shards)} - {p.stem for p in done.glob("*.json")})[0]
    half = killed / "data" / f".{pending}-of-{shards:05d}.parquet.tmp-{socket.gethostname()}-{2**31 - 2}"
    half.write_bytes(b"half a parquet")  # a dead process's file (pids stay far below 2^31 - 2)
    rerun = subprocess.run([*cmd, "--out", str(killed)], env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    clean = tmp_path / "clean"
    subprocess.run([*cmd, "--out", str(clean)], env=env, check=True, capture_output=True, timeout=300)
    assert data_bytes(killed) == data_bytes(clean) and len(data_bytes(clean)) == shards
    assert not [p for p in killed.rglob("*tmp-*")]
    ds = datasets.load_dataset(str(killed), split="train")
    assert ds.num_rows == 8 * shards and len({tuple(x) for x in ds["input_ids"]}) == 8 * shards
    assert np.all(np.array(ds["complexity"]) > 0.2)


def test_materialised_rows_are_the_streamed_rows(reference):
    from dataset_builder import load_nca_dataset

    out, _ = reference
    stored = datasets.load_dataset(str(out), split="train")
    stream = list(load_nca_dataset("tiny", num_sequences=28, device="cpu", **SMALL))
    assert [r["input_ids"] for r in stream] == stored["input_ids"]
    assert [r["rule_spec"] for r in stream] == stored["rule_spec"]
