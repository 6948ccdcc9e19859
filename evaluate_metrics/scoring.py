"""The metric math of the four NCA tasks as pure functions (numpy, plus ``nca_core`` for forward checks).

The ``evaluate`` modules in this package are thin wrappers around these functions; the harness and the
Space call them directly (no ``evaluate`` import cost). Conventions shared by every function:

- A grid is a list of rows of ints (or an array of shape (H, W)). References must be well formed:
  malformed or inconsistent *inputs* (counts that differ, ragged reference grids, unknown rule specs)
  raise ``ValueError`` with a message saying what to change.
- Malformed *predictions* (wrong shape, ragged rows, states out of range, wrong number of frames,
  unparsable labels) are scored as wrong, never crash, and are counted in ``num_malformed``.
- ``groups=`` (one hashable label per example, e.g. the rule family) adds a ``groups`` entry holding
  the same metrics per group.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np

INVALID = -1  # the "state" of every cell of a malformed prediction (matches no reference state)


# ----------------------------------------------------------------------------------------- grids
def reference_grid(x: Any, what: str = "reference") -> np.ndarray:
    """A well-formed (H, W) int64 grid of states >= 0, or ValueError."""
    try:
        arr = np.asarray(x)
    except ValueError:  # ragged
        arr = None
    if arr is None or arr.ndim != 2 or arr.size == 0 or arr.dtype == object or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"each {what} must be a non-empty rectangular grid (list of rows) of integer states; "
                         f"got {str(x)[:80]!r}")
    if arr.min() < 0:
        raise ValueError(f"{what} grids hold states >= 0; found {int(arr.min())}")
    return arr.astype(np.int64)


def prediction_grid(x: Any, shape: tuple[int, int], n_states: int | None = None) -> np.ndarray | None:
    """The prediction as an int64 grid of ``shape`` with states in [0, n_states), or None if malformed."""
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError):
        return None
    if arr.shape != tuple(shape) or arr.dtype == object:
        return None
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.bool_)):
        if not np.issubdtype(arr.dtype, np.floating) or not np.all(np.mod(arr, 1) == 0):
            return None
    arr = arr.astype(np.int64)
    if arr.min() < 0 or (n_states is not None and arr.max() >= n_states):
        return None
    return arr


def _per_example(value: Any, count: int, name: str) -> list:
    if value is None or isinstance(value, (int, np.integer)):
        return [value] * count
    values = list(value)
    if len(values) != count:
        raise ValueError(f"got {count} examples but {len(values)} values of {name}: give one per example")
    return values


def _check_counts(predictions: Sequence, references: Sequence) -> None:
    if len(predictions) != len(references):
        raise ValueError(f"got {len(predictions)} predictions but {len(references)} references: "
                         "give exactly one prediction per reference")
    if not len(references):
        raise ValueError("no examples to score: predictions and references are empty")


def _macro_f1(pred_cells: np.ndarray, true_cells: np.ndarray) -> float:
    """Macro-F1 over the states seen in the references or the (valid) predictions."""
    labels = np.union1d(np.unique(true_cells), np.unique(pred_cells[pred_cells != INVALID]))
    f1s = []
    for s in labels:
        tp = np.sum((pred_cells == s) & (true_cells == s))
        fp = np.sum((pred_cells == s) & (true_cells != s))
        fn = np.sum((pred_cells != s) & (true_cells == s))
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s)) if f1s else 0.0


def _grouped(groups: Sequence[Hashable] | None, count: int, score: Callable[[list[int]], dict]) -> dict:
    if groups is None:
        return {}
    groups = _per_example(groups, count, "groups")
    out: dict[str, dict] = {}
    for g in sorted({str(g) for g in groups}):
        out[g] = score([i for i, x in enumerate(groups) if str(x) == g])
    return {"groups": out}


# ------------------------------------------------------------------------------------ next step
def next_step_scores(predictions: Sequence, references: Sequence, n_states: int | Sequence[int] | None = None,
                     groups: Sequence[Hashable] | None = None) -> dict:
    """Next-frame prediction: ``exact_match`` (whole frame right), ``cell_accuracy`` (mean over examples
    of the fraction of right cells) and ``macro_f1`` over states (pooled cells, so predicting the
    dominant state everywhere cannot look good). ``n_states`` (one or per example) bounds valid states."""
    _check_counts(predictions, references)
    refs = [reference_grid(r) for r in references]
    limits = _per_example(n_states, len(refs), "n_states")
    preds = [prediction_grid(p, r.shape, n) for p, r, n in zip(predictions, refs, limits)]

    def score(idx: list[int]) -> dict:
        exact, acc, pc, tc = [], [], [], []
        for i in idx:
            ref, pred = refs[i], preds[i]
            cells = np.full(ref.shape, INVALID) if pred is None else pred
            exact.append(bool(pred is not None and np.array_equal(pred, ref)))
            acc.append(float(np.mean(cells == ref)))
            pc.append(cells.ravel())
            tc.append(ref.ravel())
        return {"exact_match": float(np.mean(exact)), "cell_accuracy": float(np.mean(acc)),
                "macro_f1": _macro_f1(np.concatenate(pc), np.concatenate(tc)),
                "num_examples": len(idx), "num_malformed": sum(preds[i] is None for i in idx)}

    everything = list(range(len(refs)))
    return {**score(everything), **_grouped(groups, len(refs), score)}


# --------------------------------------------------------------------------------- long horizon
def long_horizon_scores(predictions: Sequence, references: Sequence, threshold: float = 0.5,
                        n_states: int | Sequence[int] | None = None,
                        groups: Sequence[Hashable] | None = None) -> dict:
    """Autoregressive rollouts: per example H predicted grids vs H true grids (the same H for all).

    Returns ``cell_accuracy_at`` / ``exact_match_at`` (lists over h = 1..H), ``cell_accuracy`` and
    ``exact_match`` over the whole rollout, ``mean_first_error_step`` (1-based step of the first frame
    that is not exact; H + 1 when the whole rollout is exact) and ``horizon_below_threshold``: the first
    h whose mean cell accuracy is below ``threshold`` (None if it never falls below). A prediction with
    the wrong number of frames is malformed: its missing frames count as wrong."""
    _check_counts(predictions, references)
    refs = []
    for r in references:
        frames = list(r) if not isinstance(r, np.ndarray) else list(r)
        if not frames:
            raise ValueError("each long-horizon reference must hold at least one frame")
        refs.append([reference_grid(f) for f in frames])
    horizon = len(refs[0])
    if any(len(r) != horizon for r in refs):
        raise ValueError(f"references have different horizons ({sorted({len(r) for r in refs})}): "
                         "score rollouts of one horizon H at a time")
    limits = _per_example(n_states, len(refs), "n_states")
    acc = np.zeros((len(refs), horizon))
    exact = np.zeros((len(refs), horizon), dtype=bool)
    malformed = np.zeros(len(refs), dtype=bool)
    for i, (pred, ref, n) in enumerate(zip(predictions, refs, limits)):
        try:
            frames = list(pred)
        except TypeError:
            frames = []
        if len(frames) != horizon:
            malformed[i] = True
        for h in range(horizon):
            grid = prediction_grid(frames[h], ref[h].shape, n) if h < len(frames) else None
            if grid is None:
                malformed[i] = True
                continue
            acc[i, h] = np.mean(grid == ref[h])
            exact[i, h] = np.array_equal(grid, ref[h])
    first_error = np.where(exact.all(1), horizon + 1, np.argmin(exact, axis=1) + 1)

    def score(idx: list[int]) -> dict:
        curve = acc[idx].mean(0)
        below = np.nonzero(curve < threshold)[0]
        return {"cell_accuracy_at": [float(x) for x in curve],
                "exact_match_at": [float(x) for x in exact[idx].mean(0)],
                "cell_accuracy": float(acc[idx].mean()), "exact_match": float(exact[idx].all(1).mean()),
                "mean_first_error_step": float(first_error[idx].mean()),
                "horizon_below_threshold": int(below[0]) + 1 if len(below) else None,
                "threshold": float(threshold), "horizon": horizon,
                "num_examples": len(idx), "num_malformed": int(malformed[idx].sum())}

    return {**score(list(range(len(refs)))), **_grouped(groups, len(refs), score)}


# ------------------------------------------------------------------------------- rule identity
def rule_id_scores(predictions: Sequence, references: Sequence, labels: Sequence | None = None,
                   query_trajectories: Sequence | None = None, predicted_specs: Sequence | None = None,
                   seeds: Sequence[int] | None = None, groups: Sequence[Hashable] | None = None) -> dict:
    """Rule recognition: predicted vs true rule labels (family names, rule ids, …).

    Returns ``accuracy``, ``macro_f1`` over the labels, ``labels`` and ``confusion_matrix`` (rows: true,
    columns: predicted, in ``labels`` order; malformed predictions are left out of the matrix). With
    ``query_trajectories`` (T, H, W per example) and ``predicted_specs`` (the rule spec of each
    prediction, ``nca_core`` JSON or dict) it adds ``functional_accuracy``: a prediction counts as
    functionally right when it is the true label or when its rule, simulated from the query's first
    frame, reproduces the whole query exactly. A prediction that is None, empty or (when ``labels`` is
    given) not one of ``labels`` is malformed."""
    _check_counts(predictions, references)
    refs = [str(r) for r in references]
    known = [str(x) for x in labels] if labels is not None else None
    if known is not None and set(refs) - set(known):
        raise ValueError(f"reference labels {sorted(set(refs) - set(known))[:5]} are not in labels=")

    def parse(p: Any) -> str | None:
        if p is None or (isinstance(p, float) and np.isnan(p)) or str(p) == "":
            return None
        return str(p) if known is None or str(p) in known else None

    preds = [parse(p) for p in predictions]
    order = known if known is not None else sorted(set(refs) | {p for p in preds if p is not None})
    functional = None
    if query_trajectories is not None or predicted_specs is not None:
        if query_trajectories is None or predicted_specs is None:
            raise ValueError("functional accuracy needs both query_trajectories and predicted_specs")
        functional = _functional_matches(preds, refs, query_trajectories, predicted_specs, seeds)

    def score(idx: list[int]) -> dict:
        pos = {label: k for k, label in enumerate(order)}
        matrix = np.zeros((len(order), len(order)), dtype=np.int64)
        for i in idx:
            if preds[i] is not None:
                matrix[pos[refs[i]], pos[preds[i]]] += 1
        f1s = []
        for label in sorted({refs[i] for i in idx} | {preds[i] for i in idx if preds[i] is not None}):
            tp = sum(preds[i] == label and refs[i] == label for i in idx)
            fp = sum(preds[i] == label and refs[i] != label for i in idx)
            fn = sum(preds[i] != label and refs[i] == label for i in idx)
            f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
        out = {"accuracy": float(np.mean([preds[i] == refs[i] for i in idx])), "macro_f1": float(np.mean(f1s)),
               "labels": list(order), "confusion_matrix": matrix.tolist(),
               "num_examples": len(idx), "num_malformed": sum(preds[i] is None for i in idx)}
        if functional is not None:
            out["functional_accuracy"] = float(np.mean(functional[idx]))
        return out

    return {**score(list(range(len(refs)))), **_grouped(groups, len(refs), score)}


def _functional_matches(preds: list, refs: list, queries: Sequence, specs: Sequence, seeds: Sequence | None) -> np.ndarray:
    import nca_core as nc
    from nca_core.rules import num_states

    count = len(refs)
    specs = _per_example(specs, count, "predicted_specs")
    seeds = _per_example(seeds if seeds is not None else 0, count, "seeds")
    queries = _per_example(queries, count, "query_trajectories")
    ok = np.array([p is not None and p == r for p, r in zip(preds, refs)])
    buckets: dict[tuple, list[tuple[int, dict, np.ndarray]]] = {}  # one batched rollout per query shape
    for i in np.nonzero(~ok)[0]:
        if preds[i] is None or specs[i] is None:
            continue
        query = np.asarray(queries[i])
        if query.ndim != 3 or query.shape[0] < 2:
            raise ValueError(f"query trajectory {i} must be (T >= 2, H, W), got shape {query.shape}")
        try:
            spec = nc.validate_spec(specs[i])
        except nc.RuleSpecError:
            continue  # a predicted spec that cannot be simulated is simply wrong
        if query.min() < 0 or query.max() >= num_states(spec):
            continue  # the predicted rule's alphabet cannot produce the query
        buckets.setdefault(query.shape, []).append((int(i), spec, query))
    for shape, items in buckets.items():
        config = nc.SimConfig(height=shape[1], width=shape[2], burn_in=0, frames=shape[0])
        sim = nc.rollout([spec for _, spec, _ in items], [int(seeds[i]) for i, _, _ in items], config,
                         initial=np.stack([q[0] for _, _, q in items]).astype(np.int64), device="cpu").numpy()
        for (i, _, query), frames in zip(items, sim):
            ok[i] = np.array_equal(frames, query)
    return ok


# ------------------------------------------------------------------------------------- reverse
def reverse_scores(predictions: Sequence, references: Sequence, rule_specs: Sequence, steps: int | Sequence[int] = 1,
                   initial_grids: Sequence | None = None, seeds: Sequence[int] | None = None,
                   groups: Sequence[Hashable] | None = None) -> dict:
    """Reverse reasoning, forward-verified: each predicted initial grid is simulated ``steps`` steps under
    the true rule (``rule_specs``, ``nca_core`` spec dicts or JSON) and compared with the given final grid
    (``references``): ``forward_exact`` and ``forward_cell_accuracy``. Any valid predecessor earns full
    marks. With ``initial_grids`` (the true initial grids) it adds ``initial_exact``. A prediction of the
    wrong shape or with states outside the rule's alphabet is malformed (scored 0). Use deterministic
    rules (argmax: neural ``tau: 0``); ``seeds`` key stochastic ones."""
    import nca_core as nc
    from nca_core.rules import num_states

    _check_counts(predictions, references)
    refs = [reference_grid(r, "final grid") for r in references]
    count = len(refs)
    specs = []
    for i, s in enumerate(_per_example(rule_specs, count, "rule_specs")):
        try:
            specs.append(nc.validate_spec(s))
        except nc.RuleSpecError as err:
            raise ValueError(f"rule spec of example {i} is not a valid nca_core spec: {err}") from None
    steps = [int(s) for s in _per_example(steps, count, "steps")]
    if any(s < 0 for s in steps):
        raise ValueError("steps must be >= 0")
    seeds = [int(s) for s in _per_example(seeds if seeds is not None else 0, count, "seeds")]
    initials = None
    if initial_grids is not None:
        initials = [reference_grid(g, "initial grid") for g in _per_example(initial_grids, count, "initial_grids")]
        if any(a.shape != b.shape for a, b in zip(initials, refs)):
            raise ValueError("initial_grids and final grids (references) must have the same shapes")
    preds = [prediction_grid(p, r.shape, num_states(s)) for p, r, s in zip(predictions, refs, specs)]
    forward_acc = np.zeros(count)
    forward_exact = np.zeros(count, dtype=bool)
    # one batched rollout per (shape, steps) group of well-formed predictions
    buckets: dict[tuple, list[int]] = {}
    for i, p in enumerate(preds):
        if p is not None:
            buckets.setdefault((refs[i].shape, steps[i]), []).append(i)
    for (shape, t), idx in buckets.items():
        config = nc.SimConfig(height=shape[0], width=shape[1], burn_in=0, frames=t + 1)
        sim = nc.rollout([specs[i] for i in idx], [seeds[i] for i in idx], config,
                         initial=np.stack([preds[i] for i in idx]), device="cpu")[:, -1].numpy()
        for j, i in enumerate(idx):
            forward_acc[i] = np.mean(sim[j] == refs[i])
            forward_exact[i] = np.array_equal(sim[j], refs[i])
    initial_exact = None
    if initials is not None:
        initial_exact = np.array([p is not None and np.array_equal(p, g) for p, g in zip(preds, initials)])

    def score(idx: list[int]) -> dict:
        out = {"forward_exact": float(forward_exact[idx].mean()), "forward_cell_accuracy": float(forward_acc[idx].mean()),
               "num_examples": len(idx), "num_malformed": sum(preds[i] is None for i in idx)}
        if initial_exact is not None:
            out["initial_exact"] = float(initial_exact[idx].mean())
        return out

    return {**score(list(range(count))), **_grouped(groups, count, score)}


def spec_json(spec: Any) -> str:
    """Canonical JSON of a spec given as dict or JSON string (no validation)."""
    return spec if isinstance(spec, str) else json.dumps(spec, sort_keys=True, separators=(",", ":"))
