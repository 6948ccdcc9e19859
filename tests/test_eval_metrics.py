"""The four metrics against hand-computed cases (pure functions and the `evaluate` modules)."""

import json
from pathlib import Path

import numpy as np
import pytest

from evaluate_metrics.scoring import long_horizon_scores, next_step_scores, reverse_scores, rule_id_scores

LIFE = {"family": "lifelike", "rule": "B3/S23"}


def grid(size, cells):
    g = np.zeros((size, size), dtype=np.int64)
    for r, c in cells:
        g[r, c] = 1
    return g.tolist()


# --------------------------------------------------------------------------------- next step
def test_next_step_hand_computed():
    out = next_step_scores([[[0, 1], [1, 0]]], [[[0, 1], [1, 1]]])
    assert out["exact_match"] == 0.0
    assert out["cell_accuracy"] == 0.75
    # state 0: tp 1, fp 1, fn 0 → 2/3; state 1: tp 2, fp 0, fn 1 → 4/5
    assert out["macro_f1"] == pytest.approx((2 / 3 + 4 / 5) / 2)
    assert (out["num_examples"], out["num_malformed"]) == (1, 0)


def test_next_step_dominant_state_cannot_look_good():
    ref = [[0] * 10]
    ref[0][3] = 1
    out = next_step_scores([[[0] * 10]], [ref])
    assert out["cell_accuracy"] == 0.9
    assert out["macro_f1"] == pytest.approx((18 / 19 + 0.0) / 2)


def test_next_step_malformed_predictions_are_wrong_and_counted():
    ref = [[1, 1], [1, 1]]
    preds = [[[1, 1]], [[1, 1], [1]], [[1, 1], [1, 7]], "junk", [[1, 1], [1, 1]]]
    out = next_step_scores(preds, [ref] * 5, n_states=2)
    assert out["num_malformed"] == 4
    assert out["exact_match"] == pytest.approx(1 / 5)
    assert out["cell_accuracy"] == pytest.approx(1 / 5)


def test_next_step_groups_and_inconsistent_inputs():
    out = next_step_scores([[[1]], [[0]]], [[[1]], [[1]]], groups=["life", "lenia"])
    assert out["groups"]["life"]["exact_match"] == 1.0
    assert out["groups"]["lenia"]["exact_match"] == 0.0
    with pytest.raises(ValueError, match="one prediction per reference"):
        next_step_scores([[[1]]], [[[1]], [[1]]])
    with pytest.raises(ValueError, match="rectangular"):
        next_step_scores([[[1]]], [[[1, 1], [1]]])


def test_next_step_oracle_scores_one():
    rng = np.random.default_rng(0)
    refs = [rng.integers(0, 5, (6, 6)).tolist() for _ in range(4)]
    out = next_step_scores(refs, refs, n_states=5)
    assert out["exact_match"] == out["cell_accuracy"] == out["macro_f1"] == 1.0


# ------------------------------------------------------------------------------ long horizon
def test_long_horizon_curves_first_error_and_threshold():
    preds = [[[[1]], [[0]], [[1]]], [[[1]], [[1]], [[1]]]]
    refs = [[[[1]], [[1]], [[1]]]] * 2
    out = long_horizon_scores(preds, refs, threshold=0.75)
    assert out["cell_accuracy_at"] == [1.0, 0.5, 1.0]
    assert out["exact_match_at"] == [1.0, 0.5, 1.0]
    assert out["mean_first_error_step"] == (2 + 4) / 2  # 4 = H + 1: never wrong
    assert out["horizon_below_threshold"] == 2
    assert out["exact_match"] == 0.5
    assert long_horizon_scores(refs, refs)["horizon_below_threshold"] is None


def test_long_horizon_missing_frames_are_malformed():
    refs = [[[[1, 0]], [[1, 0]], [[0, 0]]]]
    out = long_horizon_scores([[[[1, 0]], [[1, 0]]]], refs)
    assert out["num_malformed"] == 1
    assert out["cell_accuracy_at"] == [1.0, 1.0, 0.0]
    with pytest.raises(ValueError, match="different horizons"):
        long_horizon_scores([refs[0], refs[0][:2]], [refs[0], refs[0][:2]])


# ------------------------------------------------------------------------------------ rule id
def test_rule_id_accuracy_f1_confusion():
    out = rule_id_scores(["a", "b", "a", "a"], ["a", "a", "b", "a"])
    assert out["accuracy"] == 0.5
    assert out["macro_f1"] == pytest.approx((4 / 6 + 0) / 2)
    assert out["labels"] == ["a", "b"]
    assert out["confusion_matrix"] == [[2, 1], [1, 0]]


def test_rule_id_malformed_labels():
    out = rule_id_scores([None, "zzz", "a"], ["a", "b", "a"], labels=["a", "b"])
    assert out["num_malformed"] == 2
    assert out["accuracy"] == pytest.approx(1 / 3)
    assert out["confusion_matrix"] == [[1, 0], [0, 0]]


def test_rule_id_functional_match_counts_other_rule_that_reproduces_query():
    import nca_core as nc

    block = np.array(grid(6, [(2, 2), (2, 3), (3, 2), (3, 3)]))  # a still life under Life and HighLife
    query = np.stack([block] * 4)
    highlife = {"family": "lifelike", "rule": "B36/S23"}
    seeds_rule = {"family": "lifelike", "rule": "B2/S"}
    preds = [nc.spec_to_json(highlife), nc.spec_to_json(seeds_rule), nc.spec_to_json(LIFE)]
    refs = [nc.spec_to_json(LIFE)] * 3
    out = rule_id_scores(preds, refs, query_trajectories=[query] * 3, predicted_specs=preds)
    assert out["accuracy"] == pytest.approx(1 / 3)
    assert out["functional_accuracy"] == pytest.approx(2 / 3)


# ------------------------------------------------------------------------------------ reverse
def test_reverse_game_of_life_other_predecessor_gets_full_forward_score():
    vertical = grid(8, [(2, 4), (3, 4), (4, 4)])
    horizontal = grid(8, [(3, 3), (3, 4), (3, 5)])  # the blinker one step later
    other = grid(8, [(2, 4), (3, 4), (4, 4), (7, 0)])  # + a lone cell that dies: another predecessor
    dead = grid(8, [])
    out = reverse_scores([vertical, other, dead], [horizontal] * 3, [LIFE] * 3, steps=1,
                         initial_grids=[vertical] * 3, groups=["true", "other", "dead"])
    g = out["groups"]
    assert g["true"]["forward_exact"] == 1.0 and g["true"]["initial_exact"] == 1.0
    assert g["other"]["forward_exact"] == 1.0 and g["other"]["forward_cell_accuracy"] == 1.0
    assert g["other"]["initial_exact"] == 0.0
    assert g["dead"]["forward_exact"] == 0.0 and g["dead"]["forward_cell_accuracy"] == pytest.approx(61 / 64)
    assert out["forward_exact"] == pytest.approx(2 / 3)


def test_reverse_two_steps_and_malformed_and_errors():
    vertical = grid(8, [(2, 4), (3, 4), (4, 4)])
    # two steps of a blinker: back to itself
    assert reverse_scores([vertical], [vertical], [json.dumps(LIFE)], steps=2)["forward_exact"] == 1.0
    bad_state = np.array(vertical)
    bad_state[0, 0] = 2  # Life has 2 states
    out = reverse_scores([bad_state, [[1]]], [vertical] * 2, [LIFE] * 2)
    assert out["num_malformed"] == 2 and out["forward_cell_accuracy"] == 0.0
    with pytest.raises(ValueError, match="not a valid nca_core spec"):
        reverse_scores([vertical], [vertical], [{"family": "nope"}])
    with pytest.raises(ValueError, match="one prediction per reference"):
        reverse_scores([vertical], [vertical] * 2, [LIFE] * 2)


# ----------------------------------------------------------------------------- evaluate modules
def test_evaluate_modules_load_offline_and_match_pure_functions():
    evaluate = pytest.importorskip("evaluate")
    root = Path(__file__).resolve().parents[1] / "evaluate_metrics"
    for name in ("nca_next_step", "nca_long_horizon", "nca_rule_id", "nca_reverse"):
        card = (root / name / "README.md").read_text()
        assert card.startswith("---\n") and "## How to use" in card
    m = evaluate.load(str(root / "nca_next_step"))
    assert m.compute(predictions=[[[0, 1], [1, 0]]], references=[[[0, 1], [1, 1]]])["cell_accuracy"] == 0.75
    m = evaluate.load(str(root / "nca_long_horizon"))
    assert m.compute(predictions=[[[[1]], [[0]]]], references=[[[[1]], [[1]]]])["cell_accuracy_at"] == [1.0, 0.0]
    m = evaluate.load(str(root / "nca_rule_id"))
    out = m.compute(predictions=["life", "seeds"], references=["life", "life"])
    assert out["accuracy"] == 0.5 and out["confusion_matrix"] == [[1, 1], [0, 0]]
    m = evaluate.load(str(root / "nca_reverse"))
    vertical = grid(5, [(1, 2), (2, 2), (3, 2)])
    horizontal = grid(5, [(2, 1), (2, 2), (2, 3)])
    out = m.compute(predictions=[vertical, grid(5, [])], references=[horizontal] * 2, rule_specs=[LIFE] * 2)
    assert out["forward_exact"] == 0.5


def test_true_answers_score_one_on_every_metric():
    import nca_core as nc

    specs = [LIFE, {"family": "symbolic", "kind": "cyclic", "n_states": 4}, {"family": "neural", "seed": 3, "tau": 0.0}]
    frames = nc.rollout(specs, [1, 2, 3], nc.SimConfig(height=8, width=8, burn_in=2, frames=5), device="cpu").numpy()
    lh = long_horizon_scores(list(frames[:, 1:]), list(frames[:, 1:]))
    assert lh["cell_accuracy_at"] == [1.0] * 4 and lh["mean_first_error_step"] == 5.0
    labels = [nc.spec_to_json(s) for s in specs]
    rid = rule_id_scores(labels, labels, query_trajectories=list(frames), predicted_specs=labels)
    assert rid["accuracy"] == rid["macro_f1"] == rid["functional_accuracy"] == 1.0
    rev = reverse_scores(list(frames[:, 0]), list(frames[:, 2]), specs, steps=2, initial_grids=list(frames[:, 0]))
    assert rev["forward_exact"] == rev["forward_cell_accuracy"] == rev["initial_exact"] == 1.0
