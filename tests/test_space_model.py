"""Predict and Tasks through gradio_client with a model: a tiny random checkpoint in the layout `nca train`
writes (the plumbing), and the bundled checkpoint of space/checkpoint (size, card, and that it learned)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("gradio")
pytest.importorskip("transformers")

import nca_core as nc  # noqa: E402
from nca_core.render import ERROR_COLOUR, GAP, palette  # noqa: E402

BUNDLED = Path(__file__).resolve().parent.parent / "space" / "checkpoint"
SIDE, STATES = 8, 4


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from evaluate_metrics.tiny import make_tiny_model

    path = make_tiny_model(tmp_path_factory.mktemp("tiny"), n_states=STATES, height=SIDE, width=SIDE, hidden=32,
                           layers=2, max_positions=512, seed=3)
    enc = json.loads((path / "nca_encoding.json").read_text())
    enc["data_config"] = {"frames": 8}  # as a tiny-cpu checkpoint records it: 8-frame training sequences
    (path / "nca_encoding.json").write_text(json.dumps(enc))
    return str(path)


@pytest.fixture(scope="module")
def client(tiny_model):
    from gradio_client import Client

    from space.app import build_app

    demo = build_app(model=tiny_model)
    demo.launch(prevent_thread_lock=True, show_error=True, server_name="127.0.0.1")
    try:
        yield Client(demo.local_url, verbose=False)
    finally:
        demo.close()


def read_compare(path: str, frames: int, scale: int):
    """(truth, prediction, outlined) read back from the truth-over-prediction PNG."""
    rgb = np.asarray(Image.open(path).convert("RGB")).astype(int)
    pal = palette(STATES).astype(int)
    tile = SIDE * scale + GAP
    row_h = SIDE * scale + 3 * GAP
    truth = np.zeros((frames, SIDE, SIDE), dtype=np.uint8)
    pred = np.zeros_like(truth)
    outlined = np.zeros(truth.shape, dtype=bool)
    for t in range(frames):
        for i in range(SIDE):
            for j in range(SIDE):
                y, x = i * scale + scale // 2, t * tile + j * scale + scale // 2
                truth[t, i, j] = np.flatnonzero((pal == rgb[y, x]).all(1))[0]
                pred[t, i, j] = np.flatnonzero((pal == rgb[row_h + y, x]).all(1))[0]
                outlined[t, i, j] = (rgb[row_h + i * scale, t * tile + j * scale] == ERROR_COLOUR).all()
    return truth, pred, outlined


def test_predict_shows_truth_prediction_and_per_step_accuracy(client, tiny_model):
    from evaluate_metrics.harness import load_model, predict_frames

    ctx_png, compare_png, gif, table, summary, error = client.predict(
        tiny_model, "neural", "", 5, 2, 3, 4, None, api_name="/predict")
    assert error == ""
    spec = nc.sample_rules("neural", 1, 5, n_states=STATES)[0]
    traj = nc.rollout([spec], [2], nc.SimConfig(SIDE, SIDE, 10, 7), device="cpu")[0].numpy()
    model, enc = load_model(tiny_model)
    expected = predict_frames(model, enc, traj[None, :3], 4).numpy()[0]
    truth, pred, outlined = read_compare(compare_png, 4, scale=16)
    assert np.array_equal(truth, traj[3:])
    assert np.array_equal(pred, expected)
    assert np.array_equal(outlined, truth != pred)  # wrong cells, and only those, are outlined
    rows = table["data"]
    assert [r[0] for r in rows] == [1, 2, 3, 4]
    assert [r[1] for r in rows] == pytest.approx((truth == pred).mean(axis=(1, 2)).round(4).tolist())
    assert "mean cell accuracy" in summary
    with Image.open(gif) as animation:  # (Pillow merges identical consecutive frames)
        assert animation.format == "GIF" and 1 <= animation.n_frames <= 4
        assert animation.size[0] > 2 * animation.size[1]  # truth and prediction side by side
    assert Image.open(ctx_png).size[0] > Image.open(ctx_png).size[1]  # a strip of the 3 context frames


def test_predict_on_an_uploaded_trajectory(client, tiny_model, tmp_path):
    from gradio_client import handle_file

    traj = nc.rollout([{"family": "lifelike", "rule": "B3/S23"}], [4], nc.SimConfig(SIDE, SIDE, 2, 6),
                      device="cpu")[0].numpy()
    text = tmp_path / "life.txt"
    from nca_core.tokens import TextEncoding

    text.write_text(TextEncoding(STATES).encode(traj))
    _, compare_png, _, table, _, error = client.predict(tiny_model, "neural", "", 0, 0, 2, 4, handle_file(str(text)),
                                                     api_name="/predict")
    assert error == ""
    truth, _, _ = read_compare(compare_png, 4, scale=16)
    assert np.array_equal(truth, traj[2:6])
    assert len(table["data"]) == 4


@pytest.mark.parametrize("shape, context, horizon, words", [
    ((6, 12, 12), 2, 2, "trained on 8×8 grids"),
    ((5, 8, 8), 3, 4, "fewer than context 3 + horizon 4"),
])
def test_predict_trajectory_the_model_cannot_take_is_a_message(client, tiny_model, tmp_path, shape, context,
                                                               horizon, words):
    from gradio_client import handle_file

    path = tmp_path / "traj.npy"
    np.save(path, np.zeros(shape, dtype=np.uint8))
    out = client.predict(tiny_model, "neural", "", 0, 0, context, horizon, handle_file(str(path)),
                         api_name="/predict")
    assert out[1] is None and "**Error:**" in out[-1] and words in out[-1]


def test_tasks_scores_one_example_of_each_task(client, tiny_model):
    md, report, context, rollout, rule_img, reverse_img, error = client.predict(
        tiny_model, "lifelike", 1, api_name="/tasks")
    assert error == ""
    assert set(report) == {"next_step", "long_horizon", "rule_id", "reverse"}
    assert all(report[t]["num_examples"] == 1 for t in report)
    # the baselines that make a number readable: the oracle (the true rule) is perfect
    assert report["next_step"]["baselines"]["oracle"]["exact_match"] == 1.0
    assert report["reverse"]["baselines"]["oracle"]["forward_exact"] == 1.0
    assert report["rule_id"]["baselines"]["oracle"]["functional_accuracy"] == 1.0
    assert "lifelike" in md and "Reverse reasoning" in md
    for path in (context, rollout, rule_img, reverse_img):
        assert Image.open(path).format == "PNG"


def test_tasks_bad_input_is_a_message(client, tmp_path):
    out = client.predict(str(tmp_path / "nope"), "any", 1, api_name="/tasks")
    assert "**Error:**" in out[-1] and "cannot load model" in out[-1]
    out = client.predict("", "any", 0, api_name="/tasks")
    assert "**Error:**" in out[-1] and "example number" in out[-1]


@pytest.mark.skipif(not (BUNDLED / "config.json").is_file(), reason="no bundled checkpoint yet")
def test_bundled_checkpoint_is_small_documented_and_learned(tiny_model):
    from space.logic import Prediction, default_model, get_model, predict

    assert default_model() == str(BUNDLED)
    size = sum(f.stat().st_size for f in BUNDLED.rglob("*") if f.is_file())
    assert size < 20 * 2**20
    card = (BUNDLED / "README.md").read_text()
    assert "training/pretrain.py --config tiny-cpu" in card
    enc = json.loads((BUNDLED / "nca_encoding.json").read_text())
    assert enc["recipe"] == "tiny-cpu"
    # trained beats untrained on the first predicted frame of rules it never saw
    specs = nc.sample_rules("neural", 6, seed=4242, n_states=enc["n_states"])
    config = nc.SimConfig(enc["height"], enc["width"], 4, 8)
    trained, random = get_model(str(BUNDLED)), get_model(tiny_model)
    acc = {"trained": [], "random": []}
    for i, spec in enumerate(specs):
        traj = nc.rollout([spec], [i], config, device="cpu")[0].numpy()
        for name, bundle in (("trained", trained), ("random", random)):
            result: Prediction = predict(bundle, traj, 4, 1)
            acc[name].append(float(result.cell_accuracy[0]))
    assert np.mean(acc["trained"]) > np.mean(acc["random"]) + 0.1, acc


def test_an_unexpected_failure_is_a_message_and_the_server_keeps_serving(client, tiny_model, monkeypatch):
    import space.logic

    def broken(*args, **kwargs):
        raise RuntimeError("CUDA error: device-side assert triggered")

    monkeypatch.setattr(space.logic, "predict", broken)
    out = client.predict(tiny_model, "neural", "", 1, 0, 2, 2, None, api_name="/predict")
    assert out[1] is None and "unexpected RuntimeError" in out[-1] and "device-side assert" in out[-1]
    monkeypatch.undo()
    assert client.predict(tiny_model, "neural", "", 1, 0, 2, 2, None, api_name="/predict")[-1] == ""
