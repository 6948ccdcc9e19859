"""The generation core and the datasets builder: determinism, reproducibility from labels, sharding."""

import json

import numpy as np
import pytest

import nca_core as nc
from dataset_builder import load_nca_dataset
from dataset_builder.configs import get_config
from dataset_builder.generate import generate_shard
from nca_core.complexity import score_rules

SMALL = {"shard_size": 8, "candidates_per_round": 16}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_shard_is_deterministic_and_rows_replay_from_labels():
    cfg = get_config("tiny", **SMALL)
    rows, stats = generate_shard(cfg, "train", 0, 8, device="cpu")
    again, _ = generate_shard(cfg, "train", 0, 8, device="cpu")
    assert [r["content_hash"] for r in rows] == [r["content_hash"] for r in again]
    assert len(rows) == 8 and stats["kept"] == 8
    assert stats["candidates"] >= stats["out_of_band"] + 1
    specs = [json.loads(r["rule_spec"]) for r in rows]
    frames = nc.rollout(specs, [r["init_seed"] for r in rows], cfg.sim_config, device="cpu")
    ids = cfg.tokenizer.encode(frames, cfg.max_tokens).numpy()
    assert np.array_equal(ids, np.stack([r["input_ids"] for r in rows]))
    scores = score_rules(specs, [r["score_seed"] for r in rows], device="cpu", n_states=cfg.n_states)
    assert np.allclose(scores, [r["complexity"] for r in rows])
    assert all(cfg.band_lower < r["complexity"] < cfg.band_upper for r in rows)
    assert len({r["content_hash"] for r in rows}) == 8
    other, _ = generate_shard(cfg, "train", 1, 8, device="cpu")
    assert not {r["rule_spec"] for r in rows} & {r["rule_spec"] for r in other}


def test_paper_rows_use_the_reference_layout():
    cfg = get_config("paper", candidates_per_round=8)
    rows, _ = generate_shard(cfg, "train", 0, 2, device="cpu")
    ids = np.asarray(rows[0]["input_ids"])
    assert ids.shape == (1024,) and ids[0] == 10000 and ids[37] == 10001 and ids[38] == 10000
    assert ids[1:37].max() < 10000
    assert rows[0]["complexity"] > 0.5 and rows[0]["complexity_scale"] == "gzip-int32-ref"


def test_excluded_hashes_are_skipped():
    cfg = get_config("tiny", **SMALL)
    rows, _ = generate_shard(cfg, "train", 0, 8, device="cpu")
    exclude = {rows[0]["content_hash"], rows[3]["content_hash"]}
    again, stats = generate_shard(cfg, "train", 0, 8, exclude=exclude, device="cpu")
    hashes = [r["content_hash"] for r in again]
    assert not exclude & set(hashes) and stats["duplicate"] >= 2
    kept_order = [r["content_hash"] for r in rows if r["content_hash"] not in exclude]
    assert hashes[:6] == kept_order


def _key(row):
    return (row["rule_spec"], row["init_seed"])


def test_streaming_splits_over_workers_and_ranks_with_the_same_union():
    from datasets.distributed import split_dataset_by_node
    from torch.utils.data import DataLoader

    kw = dict(num_sequences=32, device="cpu", **SMALL)  # 4 shards of 8
    full = list(load_nca_dataset("tiny", **kw))
    assert len(full) == 32 and len({_key(r) for r in full}) == 32
    keys = sorted(_key(r) for r in full)
    for world in (2, 3):  # 4 shards: by shards for 2 ranks, by examples for 3
        union = []
        for rank in range(world):
            part = list(split_dataset_by_node(load_nca_dataset("tiny", **kw), rank=rank, world_size=world))
            union += [_key(r) for r in part]
        assert sorted(union) == keys
    loader = DataLoader(load_nca_dataset("tiny", **kw).with_format(None), batch_size=None, num_workers=2)
    assert sorted(_key(r) for r in loader) == keys


def test_validation_and_test_use_other_rules():
    kw = dict(device="cpu", **SMALL)
    train = {r["rule_spec"] for r in load_nca_dataset("tiny", num_sequences=16, **kw)}
    val = {r["rule_spec"] for r in load_nca_dataset("tiny", split="validation", num_sequences=8, **kw)}
    test = {r["rule_spec"] for r in load_nca_dataset("tiny", split="test", num_sequences=8, **kw)}
    assert val and test and not train & val and not train & test and not val & test


def test_prepared_dataset_equals_the_stream(tmp_path):
    kw = dict(num_sequences=16, num_validation=0, num_test=0, device="cpu", **SMALL)
    ds = load_nca_dataset("tiny", streaming=False, num_proc=2, cache_dir=str(tmp_path), **kw)
    stream = list(load_nca_dataset("tiny", **kw))
    assert sorted(map(_key, ds)) == sorted(map(_key, stream))
    assert ds.features["input_ids"].feature.dtype == "int32"
