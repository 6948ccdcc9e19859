"""The main job end to end, on settings small enough for seconds of training."""

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_quickstart_smoke_writes_every_artefact(tmp_path):
    out = tmp_path / "qs"
    result = subprocess.run([sys.executable, "-m", "nca_cli.main", "quickstart", "--smoke", "--out", str(out)],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("report.md", "summary.json", "loss_curve.png", "sample_predictions.png", "eval/report.json",
                 "eval/report.md", "eval/accuracy_vs_horizon.png", "model/config.json", "model/nca_encoding.json",
                 "data/manifest.json", "data/README.md"):
        assert (out / name).is_file(), name
    report = json.loads((out / "eval" / "report.json").read_text())
    assert set(report) == {"next_step", "long_horizon", "rule_id", "reverse"}
    for task, metrics in report.items():
        assert metrics["baselines"], task
    assert {"copy_last_frame", "oracle"} <= set(report["next_step"]["baselines"])
    assert report["next_step"]["baselines"]["oracle"]["cell_accuracy"] == 1.0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["next_step_cell_accuracy"] == report["next_step"]["cell_accuracy"]
    assert f"nca demo --model {out / 'model'}" in result.stdout
    text = (out / "report.md").read_text()
    assert "copy_last_frame" in text and "![loss](loss_curve.png)" in text
