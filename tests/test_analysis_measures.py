"""nca_core.analysis on hand-made trajectories whose dynamics are known: Life's blinker (period 2), block
(fixed point), a tromino that becomes a block (transient 1), a glider (no recurrence within 27 frames on a
12×12 torus, its period there is 48), and rules whose one-cell damage is known exactly."""

import gzip
import math

import numpy as np
import pytest

from nca_core.analysis import (
    analyze_rules,
    assign_bands,
    attractor_kinds,
    correlation_matrix,
    damage_growth_rate,
    perturb_one_cell,
    perturbation_divergence,
    rankdata,
    spearman,
    trajectory_measures,
)
from nca_core.simulate import SimConfig

LIFE = {"family": "lifelike", "rule": "B3/S23"}
CFG = SimConfig(height=12, width=12, burn_in=0, frames=27)


def grid(cells):
    g = np.zeros((12, 12), dtype=np.int64)
    for r, c in cells:
        g[r, c] = 1
    return g


BLINKER = grid([(3, 2), (3, 3), (3, 4)])
BLOCK = grid([(8, 8), (8, 9), (9, 8), (9, 9)])
TROMINO = grid([(8, 8), (8, 9), (9, 8)])  # becomes the block after one step
GLIDER = grid([(0, 1), (1, 2), (2, 0), (2, 1), (2, 2)])
EMPTY = grid([])


def life_step(g):
    """Conway's Life on a torus, written out independently of nca_core."""
    n = sum(np.roll(np.roll(g, dy, 0), dx, 1) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0))
    return ((n == 3) | ((g == 1) & (n == 2))).astype(np.int64)


def life_run(g, frames):
    out = [g]
    for _ in range(frames - 1):
        out.append(life_step(out[-1]))
    return np.stack(out)


def entropy_bits(frames):
    p = np.bincount(frames.ravel(), minlength=2) / frames.size
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def test_trajectory_measures_match_hand_computation():
    frames = np.stack([life_run(g, 27) for g in (BLINKER, BLOCK, TROMINO, GLIDER, EMPTY)]).astype(np.uint8)
    m = trajectory_measures(frames, 2)
    assert m["period"].tolist() == [2, 1, 1, 0, 1]
    assert m["transient"].tolist() == [0, 0, 1, 0, 0]
    assert m["attractor"].tolist() == ["cycle", "fixed point", "fixed point", "none", "fixed point"]
    # a blinker flips 4 cells every step; the block never changes; the tromino gains one cell once
    assert m["activity"][0] == pytest.approx(4 / 144)
    assert m["activity"][1] == 0.0
    assert m["activity"][2] == pytest.approx(1 / 144 / 26)
    np.testing.assert_allclose(m["activity_curve"][0], np.full(26, 4 / 144))
    assert m["activity_curve"][2].tolist() == [1 / 144] + [0.0] * 25
    assert m["entropy"][0] == pytest.approx(-(3 / 144) * math.log2(3 / 144) - (141 / 144) * math.log2(141 / 144))
    for i in range(5):
        assert m["entropy"][i] == pytest.approx(entropy_bits(frames[i]))
    assert m["distinct_states"].tolist() == [2, 2, 2, 2, 1]


def test_attractor_kinds_and_bands():
    assert attractor_kinds(np.array([0, 1, 2, 7])).tolist() == ["none", "fixed point", "cycle", "cycle"]
    bands = assign_bands(np.array([0.0, 0.2, 0.25, 0.499, 0.5, 0.9, np.nan]))
    assert bands.tolist() == ["<0.2", "[0.2,0.3)", "[0.2,0.3)", "[0.4,0.5)", ">=0.5", ">=0.5", "unscored"]
    assert assign_bands(np.array([0.1, 0.3]), edges=[0.2]).tolist() == ["<0.2", ">=0.2"]
    with pytest.raises(ValueError, match="scale"):
        assign_bands(np.array([0.1]), scale="nope")


def test_perturbation_matches_independent_life_and_known_rules():
    # Life from a blinker + block: compare the damage curve with an independent simulation
    start = BLINKER + BLOCK
    pos = np.array([[3, 3]])  # the blinker's centre: it dies, leaving two cells that die next step
    out = perturbation_divergence([LIFE], [0], start[None], 27, positions=pos, device="cpu")
    flipped = start.copy()
    flipped[3, 3] = 1 - flipped[3, 3]
    expected = (life_run(start, 27) != life_run(flipped, 27)).sum(axis=(1, 2))
    assert out["hamming"][0].tolist() == expected.tolist()
    assert out["hamming"][0, 0] == 1
    # identity (no births, every count survives): the damage stays exactly one cell → rate 0
    identity = {"family": "lifelike", "rule": "B/S012345678"}
    die = {"family": "lifelike", "rule": "B/S"}  # every cell dies: the damage heals after one step
    out = perturbation_divergence([identity, die], [0, 0], np.stack([BLOCK, BLOCK]), 10, device="cpu")
    assert out["hamming"][0].tolist() == [1] * 10
    assert out["hamming"][1].tolist() == [1] + [0] * 9
    assert out["rate"][0] == 0.0
    assert out["rate"][1] == pytest.approx(math.log(0.5) / 9)
    assert out["healed"].tolist() == [False, True]
    assert out["final_damage"].tolist() == [1 / 144, 0.0]
    assert out["positions"].tolist() == [[6, 6], [6, 6]]


def test_damage_growth_rate_and_perturb():
    # doubling each step until a quarter of 16 cells is covered at step 2 (4 cells): rate log(4)/2
    h = np.array([[1, 2, 4, 8, 16], [1, 1, 1, 1, 1], [2, 1, 0, 0, 0]])
    rates = damage_growth_rate(h, n_cells=16, saturation=0.25)
    np.testing.assert_allclose(rates, [math.log(4) / 2, 0.0, math.log(0.5 / 2) / 4])
    g = np.zeros((2, 4, 4), dtype=np.int64)
    g[1] = 2
    p, pos = perturb_one_cell(g, [2, 3], positions=np.array([[0, 0], [3, 1]]))
    assert p[0, 0, 0] == 1 and p[1, 3, 1] == 0 and (p != g).sum() == 2
    with pytest.raises(ValueError, match="inside"):
        perturb_one_cell(g, 2, positions=np.array([[4, 0], [0, 0]]))


def test_spearman_against_direct_formula():
    assert rankdata(np.array([3.0, 1.0, 4.0, 1.0, 5.0])).tolist() == [3.0, 1.5, 4.0, 1.5, 5.0]
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    y = np.array([5.0, 6.0, 7.0, 8.0, 7.0])
    # no ties in x; y has a tie → Pearson of average ranks
    rx, ry = np.array([1, 2, 3, 4, 5.0]), np.array([1, 2, 3.5, 5, 3.5])
    assert spearman(x, y) == pytest.approx(np.corrcoef(rx, ry)[0, 1])
    assert spearman(x, -x**3) == pytest.approx(-1.0)
    assert math.isnan(spearman(x, np.ones(5)))
    assert spearman(np.array([1.0, np.nan, 2.0, 3.0]), np.array([3.0, 0.0, 2.0, 1.0])) == pytest.approx(-1.0)
    c = correlation_matrix({"a": x, "b": y, "c": np.ones(5)}, ["a", "b", "c", "missing"])
    assert c["measures"] == ["a", "b", "c"]
    assert c["spearman"][0, 1] == c["spearman"][1, 0] == pytest.approx(spearman(x, y))
    assert math.isnan(c["spearman"][2, 2]) and c["spearman"][0, 0] == 1.0


def test_analyze_rules_on_hand_made_grids_agrees_with_direct_computation():
    grids = np.stack([BLINKER, BLOCK, TROMINO, GLIDER])
    a = analyze_rules([LIFE] * 4, [0, 1, 2, 3], CFG, initial=grids, score_on="trajectory", device="cpu")
    frames = np.stack([life_run(g, 27) for g in grids])
    np.testing.assert_array_equal(a["frames"], frames)
    # the reference gzip scale, computed directly: 2×2 patch ids a + 10b + 100c + 1000d as int32 LE
    for i in range(4):
        f = frames[i].reshape(27, 6, 2, 6, 2).transpose(0, 1, 3, 2, 4).reshape(27, 36, 4)
        ids = (f * np.array([1, 10, 100, 1000])).sum(-1).astype("<i4").tobytes()
        assert a["measures"]["complexity"][i] == pytest.approx(len(gzip.compress(ids, 9)) / len(ids))
    rec = a["records"]
    assert [r["attractor"] for r in rec] == ["cycle", "fixed point", "fixed point", "none"]
    assert [r["period"] for r in rec] == [2, 1, 1, 0]
    assert [r["transient"] for r in rec] == [0, 0, 1, 0]
    assert a["attractors"]["all"] == {"fixed point": 2, "cycle": 1, "none": 1}
    assert a["attractors"]["period_counts"] == {1: 2, 2: 1}
    assert a["distributions"]["activity"]["all"]["max"] == pytest.approx(
        max(float((frames[i][1:] != frames[i][:-1]).mean()) for i in range(4)))
    # transient / period are undefined for the glider and excluded from correlations
    assert np.isnan(a["measures"]["period"][3]) and np.isnan(a["measures"]["transient"][3])
    assert all(r["complexity"] < 0.2 for r in rec) and set(a["bands"]) == {"<0.2"}
    assert a["gallery"] == {"<0.2": [0, 1, 2]}
