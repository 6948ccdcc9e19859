"""Tokens, complexity scores (the reference's gzip band), filters, labels, rendering."""

import gzip

import numpy as np
import pytest
import torch
from PIL import Image

import nca_core as nc
from nca_core import filters, labels, render
from nca_core.complexity import Band, activity, gzip_scores, period_and_transient, score_rules, state_entropy
from nca_core.tokens import REFERENCE, REFERENCE_SEQ_LEN, PatchTokenizer, TextEncoding


def test_reference_patch_layout():
    frame = np.zeros((1, 12, 12), dtype=np.uint8)
    frame[0, 0, 0], frame[0, 0, 1], frame[0, 1, 0], frame[0, 1, 1] = 1, 2, 3, 4  # patch (a b / c d)
    frame[0, 0, 2] = 9  # first cell of the second patch in the first patch row
    frame[0, 2, 0] = 7  # first cell of the first patch in the second patch row
    ids = REFERENCE.encode(frame).tolist()
    assert len(ids) == 38 and ids[0] == 10000 and ids[-1] == 10001
    assert ids[1] == 1 + 10 * 2 + 100 * 3 + 1000 * 4
    assert ids[2] == 9 and ids[1 + 6] == 7
    assert REFERENCE.vocab_size == 10002


def test_reference_sequence_is_cut_to_1024_and_round_trips():
    specs = nc.sample_rules("neural", 3, seed=0)
    frames = nc.rollout(specs, [0, 1, 2], device="cpu")
    ids = REFERENCE.encode(frames, max_tokens=REFERENCE_SEQ_LEN)
    assert ids.shape == (3, 1024)
    full = REFERENCE.encode(frames)
    assert full.shape == (3, 27 * 38) and torch.equal(REFERENCE.decode(full), frames)
    partial = REFERENCE.decode(ids, allow_partial=True)
    assert torch.equal(partial, frames[:, :26])
    with pytest.raises(ValueError, match="whole number"):
        REFERENCE.decode(ids)


@pytest.mark.parametrize("n, p, h, w", [(2, 1, 4, 6), (3, 3, 6, 9), (4, 2, 8, 8), (10, 2, 12, 12)])
def test_patch_tokens_round_trip_any_alphabet(n, p, h, w):
    tok = PatchTokenizer(n, p, h, w)
    frames = torch.as_tensor(np.random.default_rng(n).integers(0, n, (2, 5, h, w)), dtype=torch.uint8)
    ids = tok.encode(frames)
    assert int(ids.max()) < tok.vocab_size and tok.num_patch_ids == n ** (p * p)
    assert torch.equal(tok.decode(ids), frames)


def test_decode_rejects_ids_out_of_place():
    ids = REFERENCE.encode(np.zeros((1, 12, 12), dtype=np.uint8))
    bad = ids.clone()
    bad[5] = 10000
    with pytest.raises(ValueError, match="inside a frame"):
        REFERENCE.decode(bad)
    bad = ids.clone()
    bad[0] = 3
    with pytest.raises(ValueError, match="layout"):
        REFERENCE.decode(bad)


@pytest.mark.parametrize("kwargs, message", [
    (dict(height=13), "not divisible by patch size 2"),
    (dict(n_states=40, patch=3), "int32"),
    (dict(n_states=1), "n_states"),
    (dict(width=0), "positive"),
])
def test_tokenizer_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PatchTokenizer(**kwargs)


def test_text_encoding_round_trip():
    enc = TextEncoding(10)
    frames = np.random.default_rng(0).integers(0, 10, (3, 4, 5)).astype(np.uint8)
    text = enc.encode(frames)
    assert text.split("\n\n")[0].split("\n")[0] == "".join(map(str, frames[0, 0]))
    np.testing.assert_array_equal(enc.decode(text), frames)
    with pytest.raises(ValueError, match="outside"):
        enc.decode("01\n2x")


def test_gzip_score_is_the_reference_definition():
    specs = nc.sample_rules("neural", 4, seed=2)
    frames = nc.rollout(specs, [5, 6, 7, 8], nc.SimConfig(burn_in=10, frames=10), device="cpu")
    scores = gzip_scores(frames)
    for traj, score in zip(frames, scores):
        payload = REFERENCE.patch_ids(traj).numpy().astype("<i4").tobytes()
        assert len(payload) == 1440
        assert score == len(gzip.compress(payload, compresslevel=9)) / 1440
    np.testing.assert_array_equal(score_rules(specs, [5, 6, 7, 8], device="cpu"), scores)


def test_gzip_distribution_over_2000_paper_rules_matches_the_reference():
    specs = nc.sample_rules("neural", 2000, seed=2603)
    scores = score_rules(specs, list(range(2000)), device="cpu")
    assert abs((scores >= 0.5).mean() - 0.46) <= 0.03
    assert abs(np.median(scores) - 0.486) <= 0.03
    cells = score_rules(specs, list(range(2000)), scale="gzip-cells", device="cpu")
    rank = lambda x: np.argsort(np.argsort(x))  # noqa: E731
    assert np.corrcoef(rank(scores), rank(cells))[0, 1] > 0.95  # the two scales rank rules alike


def test_band_is_strict_and_labelled():
    band = Band(0.5, 1.0)
    assert not band.contains(0.5) and band.contains(0.51) and not band.contains(1.0)
    assert band.label() == "gzip-int32-ref:(0.5,1)"
    with pytest.raises(ValueError, match="lower < upper"):
        Band(0.4, 0.3)
    with pytest.raises(ValueError, match="scale"):
        Band(0.1, 0.2, scale="bits")


def test_measures_on_hand_made_trajectories():
    still = np.zeros((1, 5, 4, 4), dtype=np.uint8)
    still[0, :, 1, 1] = 1
    blink = np.zeros((1, 6, 4, 4), dtype=np.uint8)
    blink[0, ::2, 0, 0] = 1
    period, transient = period_and_transient(np.concatenate([still[:, :5], blink[:, :5]]))
    assert period.tolist() == [1, 2] and transient.tolist() == [0, 0]
    assert activity(still)[0] == 0.0 and activity(blink)[0] == pytest.approx(1 / 16)  # one cell flips each step
    p = 1 / 16
    assert state_entropy(still, 2)[0] == pytest.approx(-(p * np.log2(p) + (1 - p) * np.log2(1 - p)))
    never = np.arange(5 * 16).reshape(1, 5, 4, 4).astype(np.uint8) % 7
    assert period_and_transient(never)[0][0] == 0


def test_filters():
    uniform = np.zeros((1, 6, 4, 4), dtype=np.uint8)
    rng = np.random.default_rng(0)
    busy = rng.integers(0, 5, (1, 6, 4, 4)).astype(np.uint8)
    late_cycle = busy.copy()
    late_cycle[0, 5] = late_cycle[0, 4]  # fixed point reached in the second half: kept
    assert filters.is_trivial(np.concatenate([uniform, busy, late_cycle])).tolist() == [True, False, False]
    ids = REFERENCE.encode(np.zeros((12, 12), dtype=np.uint8)[None])
    assert filters.content_hash(ids) == filters.content_hash(ids.clone())
    assert filters.content_hash(ids) != filters.content_hash(ids + 1)


def test_near_duplicate_rules_share_a_cluster():
    a = {"family": "lifelike", "rule": "B3/S23"}
    same = {"family": "lifelike", "rule": "B3/S23"}
    other = {"family": "lifelike", "rule": "B36/S23"}
    specs = [a, same, other] + nc.sample_rules("neural", 20, seed=1)
    clusters = filters.cluster_ids(filters.behaviour_fingerprints(specs, device="cpu"))
    assert clusters[0] == clusters[1] and clusters[0] != clusters[2]
    assert len(set(clusters[3:].tolist())) == 20
    keep = filters.cap_per_cluster(clusters, cap=1)
    assert keep.tolist()[:3] == [True, False, True] and keep.sum() == 22
    counts = {}
    filters.cap_per_cluster(clusters[:1], 1, counts)
    assert not filters.cap_per_cluster(clusters[1:2], 1, counts)[0]  # the tally carries over


def test_labels_say_their_scale_and_reproduce_the_row():
    specs = nc.sample_rules("neural", 3, seed=4)
    frames = nc.rollout(specs, [1, 2, 3], device="cpu")
    rows = labels.sequence_labels(specs, [1, 2, 3], frames, 10)
    assert set(labels.LABEL_FIELDS) <= set(rows[0])
    assert rows[0]["complexity_scale"] == "gzip-int32-ref"
    again = nc.rollout([rows[1]["rule_spec"]], [rows[1]["init_seed"]], device="cpu")
    assert torch.equal(again[0], frames[1])


def test_render_png_is_pixel_exact(tmp_path):
    frames = np.random.default_rng(0).integers(0, 10, (3, 12, 12)).astype(np.uint8)
    path = render.save_png(frames, tmp_path / "s.png", 10, scale=4)
    img = np.asarray(Image.open(path).convert("RGB"))
    pal = render.palette(10)
    assert img.shape == (12 * 4, 3 * 12 * 4 + 2 * render.GAP, 3)
    np.testing.assert_array_equal(img[1, 1], pal[frames[0, 0, 0]])
    second = 12 * 4 + render.GAP
    np.testing.assert_array_equal(img[4 * 5 + 1, second + 4 * 7 + 1], pal[frames[1, 5, 7]])
    gif = render.save_gif(frames, tmp_path / "s.gif", 10)
    assert Image.open(gif).n_frames == 3
    cmp = render.compare_image(frames, frames[::-1], 10)
    assert cmp.height > 2 * 12 * 16
