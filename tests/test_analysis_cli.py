"""`nca analyze` end to end: from a data config and from a materialised parquet folder."""

import json

import numpy as np
import pytest
from test_analysis_measures import BLINKER, BLOCK, GLIDER, LIFE, TROMINO, life_run

import nca_core as nc
from nca_cli.analyze import infer_tokenizer, split_counts
from nca_cli.main import main
from nca_core.tokens import PatchTokenizer


def test_analyze_config_writes_report(tmp_path, capsys):
    out = tmp_path / "mixed"
    assert main(["analyze", "--config", "mixed", "--num-rules", "10", "--out", str(out), "--device", "cpu"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n"] == 10
    assert sorted({r["family"] for r in summary["records"]}) == sorted(nc.FAMILIES)  # 2 per family
    assert summary["source"]["config"] == "mixed"
    for name in ("report.md", "gallery.png", "sensitivity.png", "correlations.png", "attractors.png"):
        assert (out / name).stat().st_size > 0
    assert "data config `mixed`" in (out / "report.md").read_text()


def test_analyze_in_band_keeps_only_band_rules(tmp_path):
    out = tmp_path / "neural"
    assert main(["analyze", "--config", "neural", "--in-band", "--num-rules", "6", "--no-sensitivity",
                 "--out", str(out), "--device", "cpu"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    band = summary["source"]["config_band"]  # e.g. gzip-int32-ref:(0.2,1)
    lower, upper = (float(x) for x in band.split("(")[1].rstrip(")").split(","))
    assert summary["n"] == 6 and all(lower < r["complexity"] < upper for r in summary["records"])
    assert summary["sensitivity"] is None and not (out / "sensitivity.png").exists()


def test_split_counts():
    assert split_counts(10, ["a", "b", "c"], None) == {"a": 4, "b": 3, "c": 3}
    assert split_counts(10, ["a", "b"], [3.0, 1.0]) == {"a": 8, "b": 2}  # 7.5 / 2.5 → largest remainder first
    assert sum(split_counts(7, ["a", "b", "c"], [1, 1, 1]).values()) == 7


def make_dataset(folder):
    """A parquet folder laid out like `nca generate` output: rows of 1,024 reference patch tokens + labels."""
    import datasets

    grids = [BLINKER, BLOCK, TROMINO, GLIDER]
    tok = PatchTokenizer(10, 2, 12, 12)
    rows = {"input_ids": [], "family": [], "rule_spec": [], "rule_seed": [], "init_seed": [], "complexity": [],
            "complexity_scale": []}
    for i, g in enumerate(grids):
        frames = life_run(g, 27).astype(np.uint8)
        rows["input_ids"].append(tok.encode(frames, max_tokens=1024).tolist())
        rows["family"].append("lifelike")
        rows["rule_spec"].append(json.dumps(LIFE))
        rows["rule_seed"].append(i)
        rows["init_seed"].append(i)
        rows["complexity"].append(0.1 * (i + 1))
        rows["complexity_scale"].append("gzip-int32-ref")
    (folder / "data").mkdir(parents=True)
    datasets.Dataset.from_dict(rows).to_parquet(str(folder / "data" / "train-00000-of-00001.parquet"))


def test_analyze_dataset_folder(tmp_path):
    data = tmp_path / "ds"
    make_dataset(data)
    out = tmp_path / "report"
    assert main(["analyze", "--dataset", str(data), "--num-rules", "50", "--out", str(out), "--device", "cpu"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    recs = summary["records"]
    assert summary["n"] == 4 and summary["horizon"] == 26  # 1,024 of 1,026 tokens: the cut last frame is dropped
    assert [(r["period"], r["transient"]) for r in recs] == [(2, 0), (1, 0), (1, 1), (0, 0)]
    assert [r["complexity"] for r in recs] == pytest.approx([0.1, 0.2, 0.3, 0.4])
    assert [r["band"] for r in recs] == ["<0.2", "[0.2,0.3)", "[0.3,0.4)", "[0.4,0.5)"]
    assert recs[0]["activity"] == pytest.approx(4 / 144)
    assert summary["sensitivity"] is not None and (out / "sensitivity.png").exists()
    assert "dataset `" in (out / "report.md").read_text()


def test_analyze_errors(tmp_path, capsys):
    assert main(["analyze", "--dataset", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["analyze", "--config", "nope", "--out", str(tmp_path / "o")]) == 2
    assert "unknown" in capsys.readouterr().err
    assert main(["analyze", "--num-rules", "0"]) == 2
    assert main(["analyze", "--dataset", "no-such-user/no-such-dataset", "--out", str(tmp_path / "o")]) == 2
    assert "Hub" in capsys.readouterr().err  # offline in tests: a clean error, no traceback
    with pytest.raises(ValueError, match="patch tokens"):
        infer_tokenizer([10000, 1, 2, 3])
    assert infer_tokenizer(PatchTokenizer(4, 2, 8, 8).encode(np.zeros((2, 8, 8), np.uint8)).tolist()) == \
        PatchTokenizer(4, 2, 8, 8)


def test_analyze_dataset_resimulates_from_labels(tmp_path):
    """With a manifest (as `nca generate` writes) rows are rebuilt from (rule spec, init seed, settings); when
    every row reproduces its input_ids the whole 27 frames are analysed, else the decoded 26."""
    import datasets

    specs = nc.sample_rules("neural", 3, seed=5) + nc.sample_rules("symbolic", 3, seed=5)
    seeds = [11, 12, 13, 14, 15, 16]
    frames = nc.rollout(specs, seeds, nc.SimConfig(), device="cpu").numpy()
    tok = PatchTokenizer(10, 2, 12, 12)
    rows = {"input_ids": [tok.encode(f, max_tokens=1024).tolist() for f in frames],
            "family": [s["family"] for s in specs], "rule_spec": [json.dumps(s) for s in specs],
            "init_seed": seeds, "rule_seed": seeds}
    manifest = {"config": {"height": 12, "width": 12, "burn_in": 10, "frames": 27, "n_states": 10, "patch": 2}}
    for name, broken in (("good", False), ("bad", True)):
        folder = tmp_path / name
        (folder / "data").mkdir(parents=True)
        (folder / "manifest.json").write_text(json.dumps(manifest))
        data = dict(rows, input_ids=[list(r) for r in rows["input_ids"]])
        if broken:
            data["input_ids"][0][1] = (data["input_ids"][0][1] + 1) % 10000
        datasets.Dataset.from_dict(data).to_parquet(str(folder / "data" / "train-00000-of-00001.parquet"))
        out = tmp_path / f"rep-{name}"
        assert main(["analyze", "--dataset", str(folder), "--out", str(out), "--device", "cpu", "--no-sensitivity"]) == 0
        summary = json.loads((out / "summary.json").read_text())
        note = summary["source"]["reproduced_from_labels"]
        if broken:
            assert "5 of 6 rows" in note and summary["horizon"] == 26
        else:
            assert "6 of 6 rows" in note and summary["horizon"] == 27
            entropy = [-(p[p > 0] * np.log2(p[p > 0])).sum()
                       for p in (np.bincount(f.ravel(), minlength=10) / f.size for f in frames)]
            assert [r["entropy"] for r in summary["records"]] == pytest.approx(entropy)
            # no complexity column: rows are scored the reference way from their rule seeds
            from nca_core.complexity import score_rules
            assert [r["complexity"] for r in summary["records"]] == pytest.approx(
                score_rules(specs, seeds, device="cpu").tolist())
