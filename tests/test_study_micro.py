"""`nca study transfer --budget micro`: the whole pipeline in seconds, every artefact written."""

from __future__ import annotations

import json
import math

import pytest

pytest.importorskip("transformers")

from nca_cli.main import main  # noqa: E402

ARTEFACTS = ("results.json", "report.md", "curves.png", "final_ppl.png", "speedup.png", "stage1_loss.png")


def test_micro_study_writes_every_artefact(tmp_path):
    out = tmp_path / "study"
    code = main(["study", "transfer", "--budget", "micro", "--out", str(out), "--cache_dir", str(tmp_path / "cache"),
                 "--device", "cpu"])
    assert code == 0
    for name in ARTEFACTS:
        assert (out / name).stat().st_size > 0, name
    from PIL import Image

    for name in ARTEFACTS[2:]:
        with Image.open(out / name) as img:
            assert img.format == "PNG" and img.size[0] > 200

    results = json.loads((out / "results.json").read_text())
    arms = [a["name"] for a in results["arms"]]
    assert arms == ["scratch", "nca", "text"]
    seeds = results["seeds"]
    assert len(seeds) >= 2
    assert len(results["runs"]) == len(arms) * len(seeds)
    budget = results["budget"]
    for run in results["runs"]:
        tokens = [p["tokens"] for p in run["curve"]]
        assert tokens[0] == 0 and tokens[-1] == budget["lang_steps"] * budget["batch"] * budget["seq_len"]
        assert tokens == sorted(tokens)
        for p in run["curve"]:
            assert math.isclose(p["val_ppl"], math.exp(p["val_loss"]), rel_tol=1e-9)
        if run["arm"] == "scratch":
            # all arms of a seed start from one initialisation: scratch starts near uniform over the vocabulary
            assert run["curve"][0]["val_ppl"] == pytest.approx(results["corpus"]["vocab_size"], rel=0.3)
            assert run["curve"][-1]["val_loss"] < run["curve"][0]["val_loss"]  # it learned something
            assert run["speedup"] == pytest.approx(1.0)
        else:
            assert run["stage1"]["tokens"] == budget["stage1_steps"] * budget["batch"] * budget["seq_len"]
    by_arm = {r["arm"]: r for r in results["runs"] if r["seed"] == seeds[0]}
    assert by_arm["nca"]["stage1"]["vocab_size"] == 10_002
    assert by_arm["nca"]["stage1"]["train_loss"][-1]["loss"] < by_arm["nca"]["stage1"]["train_loss"][0]["loss"]
    assert by_arm["nca"]["curve"][0]["val_loss"] != by_arm["scratch"]["curve"][0]["val_loss"]  # blocks transferred
    for name in arms:
        assert results["summary"][name]["final_ppl"]["n"] == len(seeds)
    report = (out / "report.md").read_text()
    assert "nca study transfer --budget micro" in report
    for name in arms:
        assert f"| {name} |" in report


def test_bad_options_fail_before_any_work(tmp_path, capsys):
    assert main(["study", "transfer", "--budget", "micro", "--bands", "0.9:0.1", "--out", str(tmp_path / "x")]) == 2
    assert "LOW < HIGH" in capsys.readouterr().err
    assert main(["study", "transfer", "--budget", "micro", "--reinit", "attention", "--reinit_layers", "7",
                 "--out", str(tmp_path / "x")]) == 2
    assert "layer 7 does not exist" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
