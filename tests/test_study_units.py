"""training/corpus.py and the pieces of training/study.py: split, tokenizer, data, metrics, arms."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest
import torch

pytest.importorskip("transformers")

from training import corpus as cp  # noqa: E402
from training import study as st  # noqa: E402


def test_stdlib_modules_are_code_without_tests_and_split_by_top_level_module():
    modules = cp.stdlib_modules()
    names = [m for m, _ in modules]
    assert len(modules) > 300
    assert "json.decoder" in names and "collections" in names and "os" in names
    assert not any(".test." in f".{m}." or m.startswith("test.") for m in names)
    assert not any(m.startswith(("pydoc_data", "idlelib", "site-packages")) for m in names)
    assert [str(p) for _, p in modules] == sorted(str(p) for _, p in modules)
    train, val = cp.split_modules(modules, 0.1)
    groups_train = {m.split(".")[0] for m, _ in train}
    groups_val = {m.split(".")[0] for m, _ in val}
    assert groups_train.isdisjoint(groups_val)
    assert len(train) + len(val) == len(modules)
    assert 0.02 < len(val) / len(modules) < 0.3
    assert cp.split_modules(modules, 0.1) == (train, val)


def test_take_bytes_and_chunk():
    texts = ["a\nb\n", "ccc\ndd\n", "eeee\n"]
    assert cp.take_bytes(texts, None) == texts
    assert cp.take_bytes(texts, 8) == ["a\nb\n", "ccc\n"]
    blocks = cp.chunk(np.arange(10), 3)
    assert blocks.tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    with pytest.raises(ValueError, match="no 20-token sequence"):
        cp.chunk(np.arange(10), 20)


def test_corpus_is_cached_deterministic_and_round_trips(tmp_path):
    kwargs = dict(vocab_size=320, max_train_bytes=40_000, max_validation_bytes=8_000, max_english_bytes=8_000)
    a = cp.load_corpus(cache_dir=tmp_path / "a", **kwargs)
    b = cp.load_corpus(cache_dir=tmp_path / "b", **kwargs)  # built again from scratch
    c = cp.load_corpus(cache_dir=tmp_path / "a", **kwargs)  # from the cache
    for other in (b, c):
        assert np.array_equal(a.train_ids, other.train_ids)
        assert np.array_equal(a.validation_ids, other.validation_ids)
        assert np.array_equal(a.english_ids, other.english_ids)
    assert a.vocab_size == 320
    assert a.stats.train_bytes <= 40_000 and a.stats.validation_bytes <= 8_000
    sample = "def f(x):\n    return {'k': x ** 2}  # é\n"
    assert a.tokenizer.decode(a.tokenizer(sample)["input_ids"]) == sample
    eos = a.tokenizer.eos_token_id
    assert a.train_ids.max() < a.vocab_size and (a.train_ids == eos).sum() == a.stats.train_modules
    english = a.tokenizer.decode(a.english_ids[:200].tolist())
    assert sum(ch.isalpha() for ch in english) > 0.5 * len(english)


def test_tokens_to_reach_interpolates():
    curve = [{"tokens": 0, "val_loss": 5.0}, {"tokens": 100, "val_loss": 4.0}, {"tokens": 200, "val_loss": 3.0}]
    assert st.tokens_to_reach(curve, 3.5) == pytest.approx(150.0)
    assert st.tokens_to_reach(curve, 4.0) == pytest.approx(100.0)
    assert st.tokens_to_reach(curve, 6.0) == 0.0
    assert st.tokens_to_reach(curve, 2.9) is None


def test_summary_speedup_against_same_seed_scratch():
    def run(arm, seed, losses):
        curve = [{"tokens": 100 * i, "val_loss": v, "val_ppl": math.exp(v)} for i, v in enumerate(losses)]
        return {"arm": arm, "seed": seed, "curve": curve, "final_ppl": curve[-1]["val_ppl"]}

    runs = [run("scratch", 0, [5, 4, 3]), run("nca", 0, [5, 3, 2.5]), run("scratch", 1, [5, 4, 2]),
            run("nca", 1, [5, 4.5, 3])]
    arms = [st.Arm("scratch", "scratch"), st.Arm("nca", "nca")]
    summary = st.summarise(runs, arms, (0, 1))
    assert runs[1]["speedup"] == pytest.approx(2.0)  # reaches 3.0 at 100 tokens instead of 200
    assert runs[3]["speedup"] is None
    assert summary["nca"]["reached_scratch_final"] == "1/2"
    assert summary["scratch"]["speedup"]["mean"] == pytest.approx(1.0)
    assert summary["nca"]["delta_ppl_vs_scratch"]["n"] == 2


def test_build_arms_one_factor_at_a_time():
    arms = st.build_arms(["0.5:1.0", "0.3:0.4"], [1.0, 0.5], ["neural", "neural+lifelike"],
                         ["attention", "mlp"], ["text", "shuffled"])
    names = [a.name for a in arms]
    assert names == ["scratch", "nca", "text", "shuffled", "nca band 0.3-0.4", "nca mix 0.5",
                     "nca neural+lifelike", "nca reinit attention", "nca reinit mlp"]
    by = {a.name: a for a in arms}
    assert by["nca band 0.3-0.4"].band == (0.3, 0.4) and by["nca band 0.3-0.4"].mix == 1.0
    assert by["nca reinit mlp"].stage1_key() == by["nca"].stage1_key()
    assert by["nca mix 0.5"].stage1_key() != by["nca"].stage1_key()
    for bad, match in ((dict(bands=["0.6:0.2"]), "LOW < HIGH"), (dict(mixes=[0.0]), "mixing ratio"),
                       (dict(families=["gliders"]), "unknown rule family"), (dict(reinit=["heads"]), "unknown part")):
        kw = dict(bands=["0.5:1.0"], mixes=[1.0], families=["neural"], reinit=[], baselines=["text"]) | bad
        with pytest.raises(ValueError, match=match):
            st.build_arms(**kw)


def test_nca_rules_respect_the_band_and_mixed_stage1_uses_both_id_ranges(tmp_path):
    from nca_core.complexity import score_rules

    rules = st.nca_rules(("neural",), 6, (0.5, 1.0), seed=1, device="cpu")
    assert len(rules) == 6
    rescored = score_rules([r[0] for r in rules], [r[2] for r in rules], device="cpu")
    assert np.all((rescored > 0.5) & (rescored < 1.0))
    assert len({json.dumps(r[0], sort_keys=True) for r in rules}) == 6
    with pytest.raises(ValueError, match="complexity band"):
        st.nca_rules(("symbolic",), 1, (0.99, 1.0), seed=0, device="cpu")

    budget = st.BUDGETS["micro"]
    corpus = cp.load_corpus(vocab_size=300, max_train_bytes=20_000, max_validation_bytes=5_000,
                            max_english_bytes=20_000, cache_dir=tmp_path)
    arm = st.Arm("nca mix 0.5", "nca", band=(0.5, 1.0), mix=0.5)
    rows, vocab, info = st.stage1_data(arm, budget, corpus, seed=0, device="cpu")
    assert rows.shape == (budget.stage1_steps * budget.batch, budget.seq_len)
    assert vocab == 10_002 + corpus.vocab_size and rows.max() < vocab
    is_text = (rows >= 10_002).all(1)
    assert is_text.sum() == info["text_sequences"] == rows.shape[0] // 2
    assert (rows[~is_text] < 10_002).all() and (rows[~is_text][:, 0] == 10_000).all()  # frame_start first

    small_alphabet = replace(budget, nca_states=4)
    rows4, vocab4, _ = st.stage1_data(st.Arm("nca", "nca", band=(0.2, 1.0)), small_alphabet, corpus, seed=0,
                                      device="cpu")
    assert vocab4 == 4**4 + 2 and rows4.max() < vocab4 and (rows4[:, 0] == 256).all()


def test_stage1_model_shares_blocks_with_base():
    budget = st.BUDGETS["micro"]
    base = st.init_model(budget, 300, seed=4)
    s1 = st.stage1_model(budget, 10_002, base, seed=4)
    again = st.init_model(budget, 300, seed=4)
    for a, b, c in zip(base.model.layers.parameters(), s1.model.layers.parameters(), again.model.layers.parameters()):
        assert torch.equal(a, b) and torch.equal(a, c)
    assert s1.get_input_embeddings().weight.shape[0] == 10_002
