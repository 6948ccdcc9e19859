"""The demo's endpoints through gradio_client against an in-process server: Explore, Dataset, and bad input
everywhere (the page shows a message, the server keeps serving). Predict / Tasks with a model:
tests/test_space_model.py."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("gradio")
pytest.importorskip("gradio_client")

import nca_core as nc  # noqa: E402
from nca_core.render import palette  # noqa: E402

EXPLORE_DEFAULTS = dict(family="lifelike", rule_text="", rule_seed=7, n_states=10, preset="paper", tau=1e-4,
                        density=0.3, generations=0.3, kind="any", lam=0.4, lenia_manual=False, radius=3, mu=0.15,
                        sigma=0.017, lenia_dt=0.1, smooth_manual=False, inner_radius=1.5, b1=0.278, b2=0.365,
                        d1=0.267, d2=0.445, smooth_dt=0.5, init_seed=0, size=16, frames=9, burn_in=10)


@pytest.fixture(scope="module")
def client():
    from gradio_client import Client

    from space.app import build_app

    demo = build_app(model="")
    demo.launch(prevent_thread_lock=True, show_error=True, server_name="127.0.0.1")
    try:
        yield Client(demo.local_url, verbose=False)
    finally:
        demo.close()


def explore(client, **changes):
    kw = {**EXPLORE_DEFAULTS, **changes}
    return client.predict(*kw.values(), api_name="/explore")


def decode_tiles(path: str, n_states: int, frames: int, side: int, columns: int, scale: int) -> np.ndarray:
    """Read states back from a strip PNG: the centre pixel of every cell, matched to the palette."""
    from nca_core.render import GAP

    rgb = np.asarray(Image.open(path).convert("RGB")).astype(int)
    pal = palette(n_states).astype(int)
    out = np.zeros((frames, side, side), dtype=np.uint8)
    tile = side * scale + GAP
    for t in range(frames):
        y0, x0 = (t // columns) * tile, (t % columns) * tile
        for i in range(side):
            for j in range(side):
                pixel = rgb[y0 + i * scale + scale // 2, x0 + j * scale + scale // 2]
                hits = np.flatnonzero((pal == pixel).all(1))
                assert len(hits) == 1, f"pixel {pixel} is not exactly one palette colour"
                out[t, i, j] = hits[0]
    return out


def test_explore_returns_exact_frames_gif_and_labels(client):
    gif, strip, labels_md, labels, spec_json, error = explore(client, rule_text="B3/S23", init_seed=5)
    assert error == ""
    spec = json.loads(spec_json)
    assert spec == {"family": "lifelike", "rule": "B3/S23"}
    truth = nc.rollout([spec], [5], nc.SimConfig(16, 16, 10, 9), device="cpu")[0].numpy()
    assert strip.endswith(".png")
    # the strip is lossless: every cell of every frame reads back as the simulated state
    assert np.array_equal(decode_tiles(strip, 2, 9, 16, columns=9, scale=12), truth)
    with Image.open(gif) as animation:
        assert animation.format == "GIF" and animation.n_frames == 9
    for key in ("complexity", "entropy", "activity", "period"):
        assert key in labels and f"| {key} |" in labels_md
    assert labels["complexity_scale"] == "gzip-int32-ref" and "gzip-int32-ref" in labels_md
    expected_activity = float((truth[1:] != truth[:-1]).mean())
    assert labels["activity"] == pytest.approx(expected_activity)


@pytest.mark.parametrize("family", sorted(nc.FAMILIES))
def test_explore_every_family_samples_from_the_rule_seed(client, family):
    _, strip, _, labels, spec_json, error = explore(client, family=family, rule_seed=11, size=12, frames=6)
    assert error == "" and strip
    assert json.loads(spec_json) == nc.sample_rules(family, 1, 11, n_states=10,
                                                    **_knobs(family))[0]
    assert labels["family"] == family


def _knobs(family):
    return {"neural": {"preset": "paper", "tau": 1e-4}, "lifelike": {"density": 0.3, "generations": 0.3},
            "symbolic": {"lam": 0.4}}.get(family, {})


def test_explore_knobs_change_the_rule(client):
    a = explore(client, family="symbolic", kind="cyclic", frames=4)[4]
    b = explore(client, family="symbolic", kind="lookup", lam=0.7, frames=4)[4]
    assert json.loads(a)["kind"] == "cyclic" and json.loads(b)["kind"] == "lookup"
    assert json.loads(b)["lambda"] == 0.7


def test_explore_continuous_families_take_their_parameters_by_hand(client):
    lenia = json.loads(explore(client, family="lenia", lenia_manual=True, radius=4, mu=0.2, sigma=0.05,
                               lenia_dt=0.3, n_states=6, frames=4)[4])
    assert lenia == nc.validate_spec({"family": "lenia", "radius": 4, "mu": 0.2, "sigma": 0.05, "dt": 0.3,
                                      "n_states": 6})
    smooth = json.loads(explore(client, family="smoothlife", smooth_manual=True, b1=0.25, b2=0.3, frames=4)[4])
    assert (smooth["b1"], smooth["b2"], smooth["d2"]) == (0.25, 0.3, 0.445)
    error = explore(client, family="smoothlife", smooth_manual=True, b1=0.5, b2=0.3)[5]
    assert "b1 <= b2" in error


@pytest.mark.parametrize("changes, words", [
    ({"rule_seed": -1}, "rule seed"),
    ({"init_seed": 1e30}, "initial-condition seed"),
    ({"size": 0}, "grid size"),
    ({"size": 100000}, "grid size"),
    ({"frames": 1}, "frames"),
    ({"rule_text": "B9/S23"}, "B/S notation"),
    ({"rule_text": "{not json"}, "not valid JSON"),
    ({"family": "neural", "tau": -1.0}, "τ"),
])
def test_explore_bad_input_is_a_message(client, changes, words):
    gif, strip, _, _, _, error = explore(client, **changes)
    assert gif is None and strip is None
    assert error.startswith("**Error:**") and words in error


def test_server_keeps_serving_after_errors(client):
    explore(client, size=-5)
    assert explore(client)[5] == ""


def test_predict_with_unloadable_model_is_a_message(client, tmp_path):
    for name in ("", str(tmp_path / "missing"), str(tmp_path)):
        out = client.predict(name, "lifelike", "B3/S23", 1, 0, 4, 4, None, api_name="/predict")
        assert out[0] is None and out[1] is None
        assert "**Error:**" in out[-1] and "model" in out[-1]


@pytest.mark.parametrize("name, content, words", [
    ("notes.txt", "hello world, not a grid", "is not a trajectory"),
    ("ragged.json", json.dumps({"frames": [[[0, 1], [1]]]}), "is not a trajectory"),
    ("weights.json", json.dumps([1, 2, 3]), "is not a trajectory"),
])
def test_predict_upload_that_is_not_a_trajectory_is_a_message(client, tmp_path, name, content, words):
    from gradio_client import handle_file

    path = tmp_path / name
    path.write_text(content)
    out = client.predict("", "lifelike", "", 1, 0, 4, 4, handle_file(str(path)), api_name="/predict")
    assert "**Error:**" in out[-1] and words in out[-1]


def test_predict_upload_of_another_file_type_is_refused_with_a_message(client, tmp_path):
    from gradio_client import handle_file

    path = tmp_path / "image.png"
    path.write_bytes(b"\x89PNG not really")
    with pytest.raises(Exception, match="Invalid file type"):  # Gradio's own check of file_types
        client.predict("", "lifelike", "", 1, 0, 4, 4, handle_file(str(path)), api_name="/predict")
    assert explore(client)[5] == ""


def test_predict_upload_of_wrong_states_is_a_message(client, tmp_path):
    from gradio_client import handle_file

    path = tmp_path / "states.npy"
    np.save(path, np.full((6, 12, 12), 99, dtype=np.int64))
    out = client.predict("", "lifelike", "", 1, 0, 4, 4, handle_file(str(path)), api_name="/predict")
    assert "**Error:**" in out[-1] and "states 0..35" in out[-1]


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    """A parquet dataset folder in the project's row layout, built here from nca_core alone."""
    import datasets

    from nca_core.labels import sequence_labels
    from nca_core.tokens import REFERENCE

    specs = nc.sample_rules("lifelike", 3, seed=1) + nc.sample_rules("neural", 2, seed=2)
    seeds = [10, 11, 12, 13, 14]
    frames = nc.rollout(specs, seeds, nc.SimConfig(), device="cpu")
    labels = sequence_labels(specs, seeds, frames, 10)
    ids = REFERENCE.encode(frames, max_tokens=1024)
    rows = [{"input_ids": ids[i].tolist(), **labels[i]} for i in range(len(specs))]
    folder = tmp_path_factory.mktemp("ds")
    (folder / "data").mkdir()
    datasets.Dataset.from_list(rows).to_parquet(str(folder / "data" / "train-00000-of-00001.parquet"))
    return folder, frames.numpy(), labels


def test_dataset_browses_rows_with_labels(client, dataset_dir):
    folder, frames, labels = dataset_dir
    gif, strip, row_labels, table, error = client.predict(str(folder), "", "train", 3, 2, api_name="/dataset")
    assert error == ""
    assert row_labels["rule_spec"] == labels[3]["rule_spec"]
    assert row_labels["complexity"] == pytest.approx(labels[3]["complexity"])
    assert [r[0] for r in table["data"]] == [3, 4]
    assert table["data"][1][table["headers"].index("family")] == "neural"
    # 1,024 tokens = 26 whole frames of 38 tokens (36 patches + 2 delimiters); the cut last frame is dropped
    with Image.open(gif) as animation:
        assert animation.n_frames == 26
    assert np.array_equal(decode_tiles(strip, 10, 26, 12, columns=9, scale=16), frames[3, :26])


@pytest.mark.parametrize("args, words", [
    (("/definitely/not/here", "", "train", 0, 5), "does not exist"),
    (("", "", "train", 0, 5), "enter a dataset folder"),
    (("{folder}", "", "train", -1, 5), "row index"),
    (("{folder}", "", "train", 99, 5), "has no row 99"),
    (("{folder}", "", "nosuchsplit", 0, 5), "cannot read dataset"),
])
def test_dataset_bad_input_is_a_message(client, dataset_dir, args, words):
    args = tuple(a.format(folder=dataset_dir[0]) if isinstance(a, str) else a for a in args)
    out = client.predict(*args, api_name="/dataset")
    assert out[0] is None and "**Error:**" in out[-1] and words in out[-1]


def test_dataset_reads_a_generated_folder_on_its_own_grid(client, tmp_path):
    """A folder from `nca generate` (tiny: 8×8, 4 states): the manifest gives the grid, and the frames shown
    are the trajectory the row's labels reproduce."""
    from dataset_builder.configs import get_config
    from dataset_builder.materialise import materialise

    config = get_config("tiny")
    materialise(config, tmp_path / "tiny", 6, device="cpu", progress=False)
    gif, strip, labels, table, error = client.predict(str(tmp_path / "tiny"), "", "train", 1, 3, api_name="/dataset")
    assert error == ""
    spec = json.loads(labels["rule_spec"])
    sim = nc.SimConfig(config.height, config.width, config.burn_in, config.frames)
    truth = nc.rollout([spec], [int(labels["init_seed"])], sim, device="cpu")[0].numpy()
    assert np.array_equal(decode_tiles(strip, config.n_states, config.frames, config.height, columns=8, scale=16),
                          truth)
    assert len(table["data"]) == 3
