"""The evaluation harness on tiny random checkpoints: constrained KV-cache decoding against a plain
recompute-everything greedy loop, likelihood scoring, task sets, the report and the CLI."""

import json

import numpy as np
import pytest
import torch

import nca_core as nc
from evaluate_metrics import harness
from evaluate_metrics.tasks import (
    BANDS,
    TASKS,
    build_task_set,
    export_task_set,
    get_task_set_spec,
    is_heldout,
)
from evaluate_metrics.tiny import make_tiny_model

SMALL = dict(n_states=3, height=4, width=4)  # 6 tokens per patch frame, 81 patch ids


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # a 2-core machine shared with other jobs: 1 thread is much faster
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def patch_model(tmp_path_factory):
    path = make_tiny_model(tmp_path_factory.mktemp("patch"), "patch", **SMALL)
    return (path, *harness.load_model(str(path), device="cpu"))


@pytest.fixture(scope="module")
def text_model(tmp_path_factory):
    path = make_tiny_model(tmp_path_factory.mktemp("text"), "text", **SMALL)
    return (path, *harness.load_model(str(path), device="cpu"))


def naive_greedy(model, layout, context, horizon):
    """Recompute the whole sequence for every token (no cache); same constraint."""
    ids = layout.encode(context[None])[0].tolist()
    ids = layout.prefix + ids
    frames = []
    for _ in range(horizon):
        values = []
        for token in layout.template.tolist():
            if token >= 0:
                ids.append(token)
                continue
            with torch.no_grad():
                logits = model(input_ids=torch.tensor([ids])).logits[0, -1]
            v = int(logits[layout.slot_ids].argmax())
            values.append(v)
            ids.append(int(layout.slot_ids[v]))
        frames.append(layout.frames_from_values(torch.tensor(values)))
    return torch.stack(frames)


@pytest.mark.parametrize("which", ["patch_model", "text_model"])
def test_predict_frames_matches_uncached_greedy_and_is_well_formed(which, request):
    _, model, encoding = request.getfixturevalue(which)
    rng = np.random.default_rng(1)
    context = rng.integers(0, 3, size=(3, 2, 4, 4))
    out = harness.predict_frames(model, encoding, context, horizon=2, batch_size=2)
    assert out.shape == (3, 2, 4, 4) and out.dtype == torch.uint8
    assert int(out.max()) < 3  # constrained to the model's alphabet
    layout = harness.frame_layout(encoding)
    for i in range(3):
        assert torch.equal(out[i], naive_greedy(model, layout, torch.as_tensor(context[i]), 2))


def test_text_layout_follows_the_text_encoding(text_model):
    _, _, encoding = text_model
    layout = harness.frame_layout(encoding)
    frames = np.random.default_rng(2).integers(0, 3, size=(1, 2, 4, 4))
    text = nc.tokens.TextEncoding(3).encode(frames[0]) + "\n\n"
    assert layout.encode(frames)[0].tolist() == encoding["_tokenizer"](text, add_special_tokens=False)["input_ids"]


def test_text_layout_rejects_a_tokenizer_that_merges_cells(text_model):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {c: i for i, c in enumerate(["0", "1", "2", "\n", "\n\n", "<unk>"])}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()  # "012" becomes one (unknown) token
    tok = PreTrainedTokenizerFast(tokenizer_object=core, unk_token="<unk>")
    with pytest.raises(ValueError, match="one token per cell"):
        harness.frame_layout({"encoding": "text", "n_states": 3, "height": 4, "width": 4, "_tokenizer": tok})


def test_candidate_logprobs_equal_a_manual_sum(patch_model):
    _, model, encoding = patch_model
    rng = np.random.default_rng(3)
    demos = rng.integers(0, 3, size=(2, 3, 2, 4, 4))
    query = rng.integers(0, 3, size=(2, 3, 4, 4))
    got = harness.candidate_logprobs(model, encoding, demos, query, batch_size=4)
    layout = harness.frame_layout(encoding)
    b, k = 1, 2
    seq = layout.encode(np.concatenate([demos[b, k], query[b]])[None])[0]
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=seq[None]).logits[0], -1)
    per = layout.tokens_per_frame
    total = 0.0
    for f in (3, 4):  # query frames 2 and 3 (frame 1 of the query is given)
        for s in layout.slots.tolist():
            pos = f * per + s
            total += float(logp[pos - 1, seq[pos]])
    assert got.shape == (2, 3)
    assert float(got[b, k]) == pytest.approx(total, rel=1e-4)


def test_predict_frames_refuses_prompts_longer_than_the_model(tmp_path):
    path = make_tiny_model(tmp_path, "patch", max_positions=40, **SMALL)
    model, encoding = harness.load_model(str(path), device="cpu")
    with pytest.raises(ValueError, match="positions"):
        harness.predict_frames(model, encoding, np.zeros((1, 6, 4, 4), dtype=np.uint8), horizon=2)


def test_task_set_is_deterministic_held_out_and_covers_families_and_bands():
    spec = get_task_set_spec("nca-eval-v1", rules_per_cell=1)
    ts = build_task_set(spec=spec)
    assert set(ts.coverage) == set(nc.FAMILIES)
    filled = sum(c[b] for c in ts.coverage.values() for b, _, _ in BANDS)
    assert filled >= 14  # every (family, band) cell, one at most left empty
    assert {r["band"] for r in ts.rules} == {b for b, _, _ in BANDS}
    assert all(is_heldout(r["rule_spec"]) for r in ts.rules)
    from evaluate_metrics.tasks import _build_cached

    _build_cached.cache_clear()  # rebuild from scratch, not from the in-process cache
    ts2 = build_task_set(spec=spec)
    assert [r["rule_spec"] for r in ts2.rules] == [r["rule_spec"] for r in ts.rules]
    assert np.array_equal(ts2.examples["rule_id"][3]["demos"], ts.examples["rule_id"][3]["demos"])
    assert ts2.fingerprint() == ts.fingerprint() != ts.head(3).fingerprint()
    # the reverse task uses deterministic rules and its stored pair is a real forward step
    for ex in ts.examples["reverse"]:
        spec_ = json.loads(ex["rule_spec"])
        assert spec_["family"] != "neural" or spec_["tau"] == 0.0
    rid = ts.examples["rule_id"][0]
    assert rid["candidates"][rid["answer"]] == rid["rule_spec"] and len(rid["candidates"]) == 4


def test_heldout_rules_are_those_no_training_split_holds():
    from dataset_builder.generate import rule_split

    specs = nc.sample_rules("lifelike", 2000, seed=0) + nc.sample_rules("symbolic", 500, seed=0)
    held = [is_heldout(s) for s in specs]
    assert 0.02 < np.mean(held) < 0.1
    assert all(rule_split(nc.validate_spec(s)) == "test" for s, h in zip(specs, held) if h)
    assert all(rule_split(nc.validate_spec(s)) != "test" for s, h in zip(specs, held) if not h)


def test_export_task_set_loads_with_datasets(tmp_path):
    import datasets

    ts = build_task_set(spec=get_task_set_spec(families=("lifelike", "symbolic"), rules_per_cell=1, **SMALL))
    export_task_set(ts, tmp_path / "ts")
    for task in TASKS:
        ds = datasets.load_dataset(str(tmp_path / "ts"), task, split="test")
        assert len(ds) == len(ts.rules)
    row = datasets.load_dataset(str(tmp_path / "ts"), "reverse", split="test")[0]
    assert np.array(row["final"]).shape == (4, 4)
    assert "configs:" in (tmp_path / "ts" / "README.md").read_text()


def test_run_eval_end_to_end_report_plots_and_baselines(patch_model, tmp_path):
    path, model, encoding = patch_model
    report = harness.run_eval(str(path), list(TASKS), num_examples=6, out_dir=tmp_path / "out", progress=False,
                              families=("lifelike", "symbolic"), rules_per_cell=2)
    assert list(report) == list(TASKS)
    for task in TASKS:
        assert set(report[task]["baselines"]) >= {"oracle", "chance"}
        assert report[task]["num_examples"] == 6
        assert set(report[task]["by_family"]) == {"lifelike", "symbolic"}
    # lifelike and symbolic rules are deterministic: the oracle is exact everywhere
    assert report["next_step"]["baselines"]["oracle"]["exact_match"] == 1.0
    assert report["long_horizon"]["baselines"]["oracle"]["cell_accuracy_at"] == [1.0] * report["long_horizon"]["horizon"]
    assert report["rule_id"]["baselines"]["oracle"]["accuracy"] == 1.0
    assert report["rule_id"]["baselines"]["oracle"]["family_accuracy"] == 1.0
    assert report["rule_id"]["baselines"]["simulate_candidates"]["functional_accuracy"] == 1.0
    assert report["reverse"]["baselines"]["oracle"]["forward_exact"] == 1.0
    assert report["reverse"]["baselines"]["oracle"]["initial_exact"] == 1.0
    for key in ("copy_last_frame", "most_frequent_state"):
        assert key in report["next_step"]["baselines"] and key in report["reverse"]["baselines"]
    out = tmp_path / "out"
    assert json.loads((out / "report.json").read_text()) == json.loads(json.dumps(report))
    for name in ("report.md", "meta.json", "accuracy_vs_horizon.png", "confusion_matrix.png", "per_family.png"):
        assert (out / name).stat().st_size > 0
    assert "| copy_last_frame |" in (out / "report.md").read_text()


def test_text_model_runs_every_task(text_model):
    path, model, encoding = text_model
    report = harness.run_eval(None, "next_step,rule_id,reverse", num_examples=3, model=model, encoding=encoding,
                              progress=False, families=("lifelike",), rules_per_cell=1)
    assert set(report) == {"next_step", "rule_id", "reverse"}
    assert 0.0 <= report["next_step"]["cell_accuracy"] <= 1.0
    assert report["rule_id"]["num_malformed"] == 0


def test_cli_eval_and_clean_errors(patch_model, tmp_path, capsys):
    from nca_cli.main import main

    path = patch_model[0]
    code = main(["eval", "--model", str(path), "--tasks", "next_step,reverse", "--num-examples", "3",
                 "--rules-per-cell", "1", "--families", "lifelike,symbolic", "--out", str(tmp_path / "cli"),
                 "--no-plots", "--device", "cpu"])
    assert code == 0
    assert json.loads((tmp_path / "cli" / "report.json").read_text()).keys() == {"next_step", "reverse"}
    assert main(["eval", "--model", str(path), "--tasks", "next_step,bogus"]) == 2
    assert "bogus" in capsys.readouterr().err
    assert main(["eval", "--model", str(tmp_path / "missing")]) == 2
    assert main(["eval", "--model", str(path), "--families", "nope"]) == 2
    code = main(["eval", "--export-tasks", str(tmp_path / "ts"), "--model", str(path), "--rules-per-cell", "1",
                 "--families", "symbolic", "--tasks", "reverse", "--no-plots"])
    assert code == 0 and (tmp_path / "ts" / "reverse").is_dir()
    code = main(["eval", "--baselines-only", "--families", "symbolic", "--rules-per-cell", "1", "--tasks",
                 "next_step,rule_id", "--out", str(tmp_path / "base"), "--no-plots", "--threads", "1"])
    base = json.loads((tmp_path / "base" / "report.json").read_text())
    assert code == 0 and base["next_step"]["baselines"]["oracle"]["exact_match"] == 1.0
    assert "cell_accuracy" not in base["next_step"]  # no model, no model numbers


def test_task_spec_follows_the_model_and_fits_its_context():
    spec = get_task_set_spec().for_model({"n_states": 4, "height": 8, "width": 8}, max_frames=6)
    assert (spec.n_states, spec.height, spec.width) == (4, 8, 8)
    assert spec.context_frames + spec.horizon <= 6
    assert spec.demo_frames + spec.query_frames <= 6
    assert spec.demo_frames + 1 + spec.reverse_steps <= 6
    assert spec.label == "nca-eval-v1@8x8s4"
    with pytest.raises(ValueError, match="at least 3"):
        get_task_set_spec().for_model({"n_states": 4, "height": 8, "width": 8}, max_frames=2)


@pytest.mark.slow
def test_eval_on_a_checkpoint_written_by_training(tmp_path):
    pretrain = pytest.importorskip("training.pretrain")
    out = pretrain.main(["--config", "tiny-cpu", "--output_dir", str(tmp_path / "run"), "--max_steps", "3",
                         "--save_steps", "1000", "--logging_steps", "1", "--disable_tqdm", "true"])
    report = harness.run_eval(out, list(TASKS), num_examples=5, out_dir=tmp_path / "eval", progress=False,
                              families=("lifelike", "neural"), rules_per_cell=1)
    meta = json.loads((tmp_path / "eval" / "meta.json").read_text())
    assert meta["task_set"].endswith("@8x8s4")  # the tiny data config's grid and alphabet
    for task in TASKS:
        assert report[task]["num_examples"] == 5
        assert report[task]["baselines"]["oracle"]
