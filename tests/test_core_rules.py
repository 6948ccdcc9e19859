"""Rule families: fidelity to the reference network, hand-checked dynamics, determinism, bad input."""

import numpy as np
import pytest
import torch

import nca_core as nc
from nca_core.rules.neural import rule_weights
from nca_core.rules.symbolic import lookup_table


def reference_step(grid: np.ndarray, w1: np.ndarray, w2: np.ndarray, w3: np.ndarray, quirk: bool) -> np.ndarray:
    """The reference network re-computed from scratch in numpy (float64, argmax)."""
    n = w3.shape[1]
    onehot = np.eye(n)[grid]  # (H, W, n)
    # jnp.pad(x, 1, mode="wrap") pads every axis: with the quirk the channel axis grows to n + 2
    x = np.pad(onehot, 1, mode="wrap") if quirk else np.pad(onehot, ((1, 1), (1, 1), (0, 0)), mode="wrap")
    h, w = grid.shape
    hid = np.zeros((h, w, w1.shape[-1]))
    for a in range(3):
        for b in range(3):
            hid += x[a : a + h, b : b + w] @ w1[a, b].astype(np.float64)
    z = np.maximum(hid @ w2.astype(np.float64), 0.0)
    return (z @ w3.astype(np.float64)).argmax(-1)


@pytest.mark.parametrize("preset", ["paper", "fixed"])
def test_neural_matches_independent_reference(preset):
    specs = [nc.validate_spec({"family": "neural", "preset": preset, "seed": s, "tau": 0.0}) for s in range(6)]
    config = nc.SimConfig(burn_in=0, frames=6)
    frames = nc.rollout(specs, list(range(100, 106)), config, device="cpu").numpy()
    for spec, traj in zip(specs, frames):
        w1, w2, w3 = rule_weights(spec)
        assert w1.shape[2] == (12 if preset == "paper" else 10)
        grid = traj[0].astype(np.int64)
        for t in range(1, 6):
            grid = reference_step(grid, w1, w2, w3, quirk=preset == "paper")
            np.testing.assert_array_equal(traj[t], grid)


def test_paper_preset_weights_follow_lecun_normal():
    w1, w2, w3 = rule_weights(nc.validate_spec({"family": "neural", "seed": 3}))
    biases = 4 + 16 + 10  # all zero in the reference
    assert w1.size + w2.size + w3.size + biases == 686  # the reference's parameter count
    pooled = np.concatenate([rule_weights(nc.validate_spec({"family": "neural", "seed": s}))[0].ravel()
                             for s in range(200)])
    assert abs(pooled.var() * 108 - 1.0) < 0.05
    assert np.abs(pooled).max() <= 2.0 * np.sqrt(1 / 108) / 0.87962566103423978 + 1e-6


def test_sampling_with_tau_is_nearly_argmax():
    seeds = list(range(20))
    base = [nc.validate_spec({"family": "neural", "seed": s}) for s in seeds]  # tau 1e-4 (ref)
    argmax = [dict(spec, tau=0.0) for spec in base]
    config = nc.SimConfig(burn_in=0, frames=2)
    init = nc.initial_grids(seeds, [10] * 20, 12, 12)
    a = nc.rollout(base, seeds, config, initial=init, device="cpu")[:, 1]
    b = nc.rollout(argmax, seeds, config, initial=init, device="cpu")[:, 1]
    assert (a == b).float().mean() > 0.995
    hot = [dict(spec, tau=5.0) for spec in base]
    c = nc.rollout(hot, seeds, config, initial=init, device="cpu")[:, 1]
    assert (c != b).float().mean() > 0.3  # a hot rule really samples


def test_trajectory_independent_of_batch_layout_and_threads():
    specs = nc.sample_rules("neural", 10, seed=5) + nc.sample_rules("lenia", 4, seed=5) \
        + nc.sample_rules("symbolic", 4, seed=5) + nc.sample_rules("lifelike", 4, seed=5) \
        + nc.sample_rules("smoothlife", 4, seed=5)
    specs = [dict(s, tau=0.5) if s["family"] == "neural" else s for s in specs]  # stochastic rules too
    seeds = list(range(len(specs)))
    full = nc.rollout(specs, seeds, device="cpu")
    shuffled = np.random.default_rng(0).permutation(len(specs))
    again = nc.rollout([specs[i] for i in shuffled], [seeds[i] for i in shuffled], device="cpu", batch_size=3)
    assert torch.equal(full[shuffled], again)
    alone = nc.rollout(specs[4:5], seeds[4:5], device="cpu")
    assert torch.equal(full[4:5], alone)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        single = nc.rollout(specs, seeds, device="cpu")
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(full, single)


def test_game_of_life_blinker_and_glider():
    life = {"family": "lifelike", "rule": "B3/S23"}
    grid = np.zeros((1, 8, 8), dtype=np.int64)
    grid[0, 3, 2:5] = 1  # horizontal blinker
    frames = nc.rollout([life], [0], nc.SimConfig(8, 8, burn_in=0, frames=3), initial=grid, device="cpu").numpy()
    vertical = np.zeros((8, 8), dtype=np.uint8)
    vertical[2:5, 3] = 1
    np.testing.assert_array_equal(frames[0, 1], vertical)
    np.testing.assert_array_equal(frames[0, 2], grid[0])
    glider = np.zeros((1, 8, 8), dtype=np.int64)
    glider[0, [0, 1, 2, 2, 2], [1, 2, 0, 1, 2]] = 1
    frames = nc.rollout([life], [0], nc.SimConfig(8, 8, burn_in=0, frames=5), initial=glider, device="cpu").numpy()
    np.testing.assert_array_equal(frames[0, 4], np.roll(glider[0], (1, 1), (0, 1)))  # moved one cell diagonally


def test_generations_brians_brain():
    spec = nc.validate_spec({"family": "lifelike", "rule": "brians-brain"})
    assert spec["rule"] == "B2/S/C3"
    grid = np.zeros((1, 6, 6), dtype=np.int64)
    grid[0, 2, 2] = grid[0, 2, 3] = 1
    out = nc.rollout([spec], [0], nc.SimConfig(6, 6, burn_in=0, frames=2), initial=grid, device="cpu").numpy()[0, 1]
    assert out[2, 2] == 2 and out[2, 3] == 2  # live cells start dying (no survival)
    assert out[1, 2] == 1 and out[3, 3] == 1  # cells with exactly two live neighbours are born
    assert out[2, 1] == 0  # one neighbour only


def test_cyclic_and_lookup_rules_match_hand_computation():
    cyclic = nc.validate_spec({"family": "symbolic", "kind": "cyclic", "n_states": 3, "threshold": 1,
                               "neighbourhood": "vonneumann"})
    grid = np.zeros((1, 4, 4), dtype=np.int64)
    grid[0, 0, 0] = 1
    grid[0, 3, 3] = 2
    out = nc.rollout([cyclic], [0], nc.SimConfig(4, 4, burn_in=0, frames=2), initial=grid, device="cpu").numpy()[0, 1]
    expected = grid[0].copy()
    for y, x in [(1, 0), (3, 0), (0, 1), (0, 3)]:
        expected[y, x] = 1  # von Neumann neighbours of the 1 advance 0 → 1
    expected[0, 0] = 1  # the 1 sees no 2 among its von Neumann neighbours ((3,3) is diagonal)
    for y, x in [(2, 3), (3, 2)]:
        expected[y, x] = 0 if grid[0, y, x] == 2 else expected[y, x]
    expected[3, 3] = 0 if (grid[0, 2, 3] == 0 or grid[0, 3, 2] == 0) else 2  # a 2 next to a 0 wraps to 0
    np.testing.assert_array_equal(out, expected)

    lookup = nc.validate_spec({"family": "symbolic", "kind": "lookup", "n_states": 4, "seed": 9, "lambda": 0.5})
    table = lookup_table(lookup)
    rng = np.random.default_rng(1)
    g = rng.integers(0, 4, (1, 5, 5))
    out = nc.rollout([lookup], [0], nc.SimConfig(5, 5, burn_in=0, frames=2), initial=g, device="cpu").numpy()[0, 1]
    total = sum(np.roll(g[0], (dy, dx), (0, 1)) for dy in (-1, 0, 1) for dx in (-1, 0, 1)) - g[0]
    np.testing.assert_array_equal(out, table[g[0], total])
    assert 0.35 < (table != 0).mean() < 0.65  # λ = 0.5


def test_lenia_matches_numpy_reference():
    spec = nc.validate_spec({"family": "lenia", "radius": 2, "mu": 0.3, "sigma": 0.05, "dt": 0.5, "n_states": 5})
    g = np.random.default_rng(2).integers(0, 5, (1, 10, 10))
    out = nc.rollout([spec], [0], nc.SimConfig(10, 10, burn_in=0, frames=2), initial=g, device="cpu").numpy()[0, 1]
    a = g[0] / 4.0
    r = 2
    ys, xs = np.mgrid[-r : r + 1, -r : r + 1]
    rho = np.hypot(ys, xs) / r
    with np.errstate(divide="ignore"):
        k = np.where((rho > 0) & (rho < 1), np.exp(4 - 1 / (rho * (1 - rho))), 0.0)
    k /= k.sum()
    u = sum(k[dy + r, dx + r] * np.roll(a, (-dy, -dx), (0, 1)) for dy in range(-r, r + 1) for dx in range(-r, r + 1))
    expected = np.round(np.clip(a + 0.5 * (2 * np.exp(-((u - 0.3) ** 2) / (2 * 0.05**2)) - 1), 0, 1) * 4)
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("family", sorted(nc.FAMILIES))
def test_every_family_samples_valid_reproducible_specs(family):
    specs = nc.sample_rules(family, 6, seed=11)
    assert specs == nc.sample_rules(family, 6, seed=11)
    assert nc.sample_rules(family, 3, seed=11) == specs[:3]
    for spec in specs:
        assert nc.validate_spec(nc.spec_to_json(spec)) == nc.validate_spec(spec)
    frames = nc.rollout(specs, list(range(6)), nc.SimConfig(burn_in=2, frames=4), device="cpu")
    assert frames.dtype == torch.uint8 and frames.shape == (6, 4, 12, 12)
    for spec, traj in zip(specs, frames):
        assert int(traj.max()) < nc.get_family(family).num_states(nc.validate_spec(spec))


@pytest.mark.parametrize("spec, message", [
    ({"family": "cellular"}, "unknown rule family"),
    ({"family": "lifelike", "rule": "B9/S2"}, "B/S notation"),
    ({"family": "neural"}, "seed"),
    ({"family": "neural", "seed": 1, "tau": -1.0}, "tau"),
    ({"family": "neural", "seed": 1, "preset": "big"}, "preset"),
    ({"family": "lenia", "sigma": 0}, "sigma"),
    ({"family": "symbolic", "kind": "wolfram"}, "kind"),
    ({"family": "neural", "seed": 1, "colour": 3}, "unknown key"),
    ("{not json", "not valid JSON"),
])
def test_bad_specs_raise_clear_errors(spec, message):
    with pytest.raises(nc.RuleSpecError, match=message):
        nc.validate_spec(spec)


def test_bad_simulation_settings():
    with pytest.raises(ValueError, match="height"):
        nc.SimConfig(height=0)
    with pytest.raises(ValueError, match="frames"):
        nc.SimConfig(frames=-1)
    with pytest.raises(ValueError, match="one seed per rule"):
        nc.rollout(nc.sample_rules("neural", 2, 0), [1])
    with pytest.raises(ValueError, match="count"):
        nc.sample_rules("neural", -1, 0)
    with pytest.raises(ValueError, match="outside the rule's alphabet"):
        nc.rollout([{"family": "lifelike", "rule": "B3/S23"}], [0], nc.SimConfig(4, 4, 0, 2),
                   initial=np.full((1, 4, 4), 5), device="cpu")
