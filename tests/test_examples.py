"""Every script in examples/ runs with small arguments (subprocess, as a user would run it)."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def run(script, *args, timeout=240):
    proc = subprocess.run([sys.executable, str(EXAMPLES / script), *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def load_example(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_examples_folder_is_covered():
    scripts = {p.name for p in EXAMPLES.glob("*.py")}
    assert scripts == {"stream_train.py", "evaluate_checkpoint.py", "analyze_family.py"}
    readme = (EXAMPLES / "README.md").read_text()
    assert all(s in readme for s in scripts)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    ckpt = tmp_path_factory.mktemp("ckpt") / "tiny"
    out = run("stream_train.py", "--steps", 2, "--batch-size", 2, "--device", "cpu", "--save", ckpt)
    losses = [float(line.split("loss")[1].split()[0]) for line in out.splitlines() if line.startswith("step")]
    assert len(losses) == 2 and all(np.isfinite(losses))
    return ckpt


def test_stream_train_saves_a_readable_checkpoint(checkpoint):
    enc = json.loads((checkpoint / "nca_encoding.json").read_text())
    assert enc["encoding"] == "patch" and enc["token_offset"] == 0
    assert {"config.json", "tokenizer.json"} <= {p.name for p in checkpoint.iterdir()}
    cfg = json.loads((checkpoint / "config.json").read_text())
    assert cfg["vocab_size"] == enc["n_states"] ** (enc["patch"] ** 2) + 2


def test_evaluate_checkpoint_in_the_open(checkpoint):
    out = run("evaluate_checkpoint.py", checkpoint, "--num-examples", 4, "--no-harness", "--device", "cpu")
    report = json.loads(out)
    assert report["next_step"]["num_examples"] == 4 and 0 <= report["next_step"]["cell_accuracy"] <= 1
    assert report["baseline_copy_last_frame"]["num_examples"] == 4


@pytest.mark.slow
def test_evaluate_checkpoint_with_harness(checkpoint, tmp_path):
    ex = load_example("evaluate_checkpoint")
    if not ex.harness_available():
        pytest.skip("evaluate_metrics.harness is not installed")
    out = run("evaluate_checkpoint.py", checkpoint, "--num-examples", 2, "--harness", "--device", "cpu",
              "--out", tmp_path / "eval")
    assert "next_step" in json.loads(out)


def test_cached_greedy_decoding_matches_full_forward():
    """The example's KV-cache decoder picks, patch by patch, what a full forward pass would pick."""
    from nca_core.tokens import PatchTokenizer

    ex = load_example("evaluate_checkpoint")
    train = load_example("stream_train")
    tok = PatchTokenizer(3, 2, 4, 4)
    torch.manual_seed(0)
    model = train.tiny_qwen(tok.vocab_size + 5, 64, 32, 1).eval()
    offset = 5
    context = np.random.default_rng(0).integers(0, 3, size=(2, 2, 4, 4)).astype(np.uint8)
    pred = ex.predict_next_frame(model, tok, offset, context)
    ids = torch.cat([tok.encode(torch.as_tensor(context)) + offset, torch.full((2, 1), tok.frame_start + offset)], 1)
    with torch.no_grad():
        for _ in range(tok.patches_per_frame):
            logits = model(input_ids=ids).logits[:, -1, offset : offset + tok.num_patch_ids]
            ids = torch.cat([ids, logits.argmax(-1, keepdim=True) + offset], 1)
    expected = tok.frames_from_patch_ids(ids[:, -tok.patches_per_frame :] - offset).numpy()
    np.testing.assert_array_equal(pred, expected)


def test_analyze_family(tmp_path):
    out = run("analyze_family.py", "--family", "symbolic", "--values", "0.1,0.7", "--num-rules", 4,
              "--device", "cpu", "--out", tmp_path / "rep")
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip().startswith("lam=")}
    assert set(rows) == {"lam=0.1", "lam=0.7"}
    # Langton's λ: more non-quiescent table entries → more complex, more active rules
    assert float(rows["lam=0.7"][1]) > float(rows["lam=0.1"][1])
    assert float(rows["lam=0.7"][3]) > float(rows["lam=0.1"][3])
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert summary["n"] == 8 and set(summary["family_order"]) == {"lam=0.1", "lam=0.7"}
    assert (tmp_path / "rep" / "gallery.png").exists() and (tmp_path / "rep" / "report.md").exists()
