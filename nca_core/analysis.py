"""Dynamics analysis of a population of rules: what the rule space looks like, not only samples of it.

Everything here is a pure function of frames (uint8 ``(B, T, H, W)``) and, where re-simulation is needed,
rule specs and seeds. Results are plain dicts of numbers / numpy arrays; figures live in
:mod:`nca_core.plotting` and :func:`write_report` puts both into a Markdown report.

Measures per trajectory
- ``complexity``: the gzip score on a named scale (see :mod:`nca_core.complexity`); by default the
  reference rule score (a separate 10 + 10 step rollout) on ``gzip-int32-ref``.
- ``entropy``: Shannon entropy (bits) of the state histogram over the whole trajectory.
- ``activity``: mean fraction of cells changing per step; ``activity_curve`` the same at each step.
- ``period`` / ``transient``: the first frame that recurs and its period (period 1 = fixed point);
  both 0 when nothing recurs within the horizon (``attractor`` "none").
- ``damage_rate``: sensitivity to a one-cell perturbation. The rule is rolled out from frame 0 and from
  frame 0 with one cell changed; d_t is the Hamming distance (cells) between the two at step t, d_0 = 1.
  The Lyapunov-like rate is ``log(max(d_K, 1/2) / d_0) / K`` nats per step, K the first step at which
  the damage covers ``saturation`` of the grid (else the horizon): > 0 the damage spreads, 0 it stays put,
  < 0 it heals (healed damage counts as half a cell so the rate stays finite).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .complexity import (
    SCALES,
    activity,
    activity_curve,
    distinct_states,
    gzip_scores,
    period_and_transient,
    score_rules,
    state_entropy,
)
from .rules import RuleSpec, num_states, spec_to_json, validate_spec
from .simulate import SimConfig, rollout

# Band edges on each gzip scale. The reference's shares are reported in [0,.2) [.2,.3) [.3,.4) [.4,.5) ≥.5 on
# gzip-int32-ref; the gzip-cells edges are the same quantiles measured over 1,500 random neural rules.
BAND_EDGES: dict[str, tuple[float, ...]] = {
    "gzip-int32-ref": (0.2, 0.3, 0.4, 0.5),
    "gzip-cells": (0.14, 0.21, 0.28, 0.345),
}
ATTRACTOR_KINDS = ("fixed point", "cycle", "none")
# Measures compared by rank correlation.
CORRELATED = ("complexity", "entropy", "activity", "distinct_states", "transient", "period", "damage_rate")


# ---------------------------------------------------------------------------------------------- bands
def band_labels(edges: Sequence[float]) -> list[str]:
    """Labels of the half-open bands cut by ``edges``: '<0.2', '[0.2,0.3)', …, '>=0.5'."""
    edges = list(edges)
    if not edges:
        return ["all"]
    inner = [f"[{lo:g},{hi:g})" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    return [f"<{edges[0]:g}", *inner, f">={edges[-1]:g}"]


def assign_bands(scores: np.ndarray, scale: str = "gzip-int32-ref", edges: Sequence[float] | None = None) -> np.ndarray:
    """The band label of each score (``edges`` default to :data:`BAND_EDGES` of ``scale``); NaN → 'unscored'."""
    if edges is None:
        if scale not in BAND_EDGES:
            raise ValueError(f"no default band edges for scale {scale!r}; pass edges= or use one of {SCALES}")
        edges = BAND_EDGES[scale]
    labels = np.array(band_labels(edges), dtype=object)
    scores = np.asarray(scores, dtype=np.float64)
    out = labels[np.searchsorted(np.asarray(edges, dtype=np.float64), scores, side="right")]
    out[np.isnan(scores)] = "unscored"
    return out


# ----------------------------------------------------------------------------------- per-trajectory measures
def attractor_kinds(periods: np.ndarray) -> np.ndarray:
    """'fixed point' (period 1), 'cycle' (period ≥ 2) or 'none' (nothing recurs within the horizon)."""
    periods = np.asarray(periods)
    return np.where(periods == 1, "fixed point", np.where(periods >= 2, "cycle", "none")).astype(object)


def trajectory_measures(frames: torch.Tensor | np.ndarray, n_states: int | None = None) -> dict[str, np.ndarray]:
    """Per-sequence measures of ``frames`` (B, T, H, W): entropy, activity, activity_curve (B, T-1),
    distinct_states, period, transient, attractor."""
    x = torch.as_tensor(np.asarray(frames) if not isinstance(frames, torch.Tensor) else frames).cpu()
    if x.ndim != 4:
        raise ValueError(f"frames must have shape (batch, time, height, width), got {tuple(x.shape)}")
    n = int(n_states or (int(x.max()) + 1 if x.numel() else 2))
    period, transient = period_and_transient(x)
    return {
        "entropy": state_entropy(x, n),
        "activity": activity(x),
        "activity_curve": activity_curve(x) if x.shape[1] > 1 else np.zeros((x.shape[0], 0)),
        "distinct_states": distinct_states(x, n).astype(np.int64),
        "period": period,
        "transient": transient,
        "attractor": attractor_kinds(period),
    }


# ------------------------------------------------------------------------------------------- sensitivity
def perturb_one_cell(grids: torch.Tensor | np.ndarray, n_states: Sequence[int] | int,
                     positions: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Copy of ``grids`` (B, H, W) with one cell per grid moved to the next state (s → (s + 1) mod n).

    ``positions`` (B, 2) of (row, col); default the centre cell. Returns (perturbed int64 grids, positions)."""
    g = np.array(grids.cpu() if isinstance(grids, torch.Tensor) else grids, dtype=np.int64, copy=True)
    b, h, w = g.shape
    n = np.broadcast_to(np.asarray(n_states, dtype=np.int64), (b,))
    pos = np.tile([h // 2, w // 2], (b, 1)) if positions is None else np.asarray(positions, dtype=np.int64)
    if pos.shape != (b, 2) or (pos < 0).any() or (pos[:, 0] >= h).any() or (pos[:, 1] >= w).any():
        raise ValueError(f"positions must be (batch, 2) row/col pairs inside the {h}×{w} grid")
    rows = np.arange(b)
    g[rows, pos[:, 0], pos[:, 1]] = (g[rows, pos[:, 0], pos[:, 1]] + 1) % n
    return g, pos


def damage_growth_rate(hamming: np.ndarray, n_cells: int, saturation: float = 0.25) -> np.ndarray:
    """Lyapunov-like rate (nats / step) of each Hamming curve (B, T): log(max(d_K, ½) / d_0) / K, K the
    first step with d_K ≥ saturation · n_cells, else the last step. 0 for a one-frame horizon."""
    d = np.asarray(hamming, dtype=np.float64)
    b, t = d.shape
    rates = np.zeros(b)
    if t < 2:
        return rates
    for i in range(b):
        over = np.nonzero(d[i, 1:] >= saturation * n_cells)[0]
        k = int(over[0]) + 1 if len(over) else t - 1
        rates[i] = math.log(max(d[i, k], 0.5) / max(d[i, 0], 1.0)) / k
    return rates


def perturbation_divergence(specs: Sequence[RuleSpec], seeds: Sequence[int], initial: torch.Tensor | np.ndarray,
                            horizon: int, *, positions: np.ndarray | None = None, saturation: float = 0.25,
                            device: str = "auto") -> dict[str, np.ndarray]:
    """Roll each rule out from ``initial`` (B, H, W) and from the same grid with one cell changed, ``horizon``
    frames each (frame 0 = the grid), and measure how fast they diverge.

    Returns hamming (B, horizon) differing cells per step, hamming_fraction, rate (:func:`damage_growth_rate`),
    final_damage (fraction at the last step), healed (bool), positions (B, 2). Stochastic rules see the same
    noise in both runs (same seed), so only the perturbation separates them."""
    init = np.asarray(initial.cpu() if isinstance(initial, torch.Tensor) else initial, dtype=np.int64)
    b, h, w = init.shape
    n = [num_states(validate_spec(s)) for s in specs]
    perturbed, pos = perturb_one_cell(init, n, positions)
    config = SimConfig(height=h, width=w, burn_in=0, frames=horizon)
    both = rollout(list(specs) * 2, list(seeds) * 2, config, initial=np.concatenate([init, perturbed]), device=device)
    hamming = (both[:b] != both[b:]).sum(dim=(2, 3)).cpu().numpy().astype(np.int64)
    return {
        "hamming": hamming,
        "hamming_fraction": hamming / (h * w),
        "rate": damage_growth_rate(hamming, h * w, saturation),
        "final_damage": hamming[:, -1] / (h * w),
        "healed": hamming[:, -1] == 0,
        "positions": pos,
    }


# ------------------------------------------------------------------------------------------- statistics
def rankdata(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given their average rank (as scipy.stats.rankdata)."""
    x = np.asarray(values, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    sorted_x = x[order]
    start = 0
    for end in range(1, len(x) + 1):
        if end == len(x) or sorted_x[end] != sorted_x[start]:
            ranks[order[start:end]] = (start + end + 1) / 2.0
            start = end
    return ranks


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation (Pearson of average ranks); NaN where either side is constant or n < 2."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    if len(x) < 2:
        return float("nan")
    rx, ry = rankdata(x) - (len(x) + 1) / 2, rankdata(y) - (len(y) + 1) / 2
    denom = math.sqrt(float((rx**2).sum() * (ry**2).sum()))
    return float((rx * ry).sum() / denom) if denom > 0 else float("nan")


def correlation_matrix(measures: dict[str, np.ndarray], names: Sequence[str] = CORRELATED) -> dict[str, Any]:
    """Spearman correlations between the named per-rule measures: {"measures": names, "spearman": (k, k)}."""
    names = [m for m in names if m in measures]
    mat = np.eye(len(names))
    for i, a in enumerate(names):
        for j in range(i + 1, len(names)):
            mat[i, j] = mat[j, i] = spearman(measures[a], measures[names[j]])
    for i in range(len(names)):  # a constant measure has no rank correlation, not even with itself
        if np.all(np.isnan(np.delete(mat[i], i))) and len(names) > 1:
            mat[i, i] = float("nan")
    return {"measures": names, "spearman": mat}


def summarize(values: np.ndarray) -> dict[str, float]:
    """n, mean, std, min, q25, median, q75, max of the finite values."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if not len(v):
        return {"n": 0}
    q = np.quantile(v, [0.0, 0.25, 0.5, 0.75, 1.0])
    return {"n": int(len(v)), "mean": float(v.mean()), "std": float(v.std()), "min": float(q[0]),
            "q25": float(q[1]), "median": float(q[2]), "q75": float(q[3]), "max": float(q[4])}


def _ordered(labels: np.ndarray, order: Sequence[str] | None = None) -> list[str]:
    present = list(dict.fromkeys(labels.tolist()))
    if order is None:
        return sorted(present)
    return [x for x in order if x in present] + sorted(x for x in present if x not in order)


def _curve_stats(curves: np.ndarray) -> dict[str, list[float]]:
    if not len(curves) or curves.shape[1] == 0:
        return {"mean": [], "q25": [], "q75": []}
    q25, q75 = np.quantile(curves, [0.25, 0.75], axis=0)
    return {"mean": curves.mean(0).tolist(), "q25": q25.tolist(), "q75": q75.tolist()}


def pick_gallery(bands: np.ndarray, families: np.ndarray, per_band: int, band_order: Sequence[str]) -> dict[str, list[int]]:
    """Up to ``per_band`` example indices per band, taking families in turn so a band shows its variety."""
    out: dict[str, list[int]] = {}
    for band in _ordered(bands, band_order):
        idx = np.nonzero(bands == band)[0]
        queues = {f: [i for i in idx if families[i] == f] for f in _ordered(families[idx])}
        picked: list[int] = []
        while len(picked) < per_band and any(queues.values()):
            for q in queues.values():
                if q and len(picked) < per_band:
                    picked.append(int(q.pop(0)))
        out[band] = picked
    return out


# ------------------------------------------------------------------------------------------- analysis
def analyze_rules(specs: Sequence[RuleSpec], seeds: Sequence[int], config: SimConfig | None = None, *,
                  initial: torch.Tensor | np.ndarray | None = None, scores: np.ndarray | None = None,
                  scale: str = "gzip-int32-ref", score_on: str = "rule", sensitivity: bool = True,
                  gallery_size: int = 3, device: str = "auto", band_edges: Sequence[float] | None = None,
                  token_states: int = 10) -> dict[str, Any]:
    """Roll out ``specs[i]`` from ``seeds[i]`` (or from the grids ``initial``) and analyse the population.

    ``score_on="rule"`` scores each rule the reference way (:func:`nca_core.complexity.score_rules`, a
    separate rollout keyed by its seed); ``"trajectory"`` scores the analysed frames themselves. Patch ids
    for the int32 scale use a ``token_states`` alphabet (a data config's ``n_states``; at least the rules')."""
    config = config or SimConfig()
    specs = [validate_spec(s) for s in specs]
    frames = rollout(specs, seeds, config, initial=initial, device=device).cpu()
    if scores is None:
        alphabet = max([token_states, *(num_states(s) for s in specs)])
        if score_on == "rule":
            scores = score_rules(specs, seeds, scale=scale, device=device, n_states=alphabet)
        elif score_on == "trajectory":
            scores = _trajectory_scores(frames, alphabet, scale)
        else:
            raise ValueError(f"score_on must be 'rule' or 'trajectory', got {score_on!r}")
    return analyze_frames(frames, specs=specs, seeds=seeds, scores=scores, scale=scale, sensitivity=sensitivity,
                          gallery_size=gallery_size, device=device, band_edges=band_edges, config=config)


def _trajectory_scores(frames: torch.Tensor, n_states: int, scale: str) -> np.ndarray:
    from .tokens import PatchTokenizer

    h, w = frames.shape[-2:]
    patch = 2 if h % 2 == 0 and w % 2 == 0 else 1
    return gzip_scores(frames, scale, PatchTokenizer(n_states, patch, h, w))


def analyze_frames(frames: torch.Tensor | np.ndarray, *, specs: Sequence[RuleSpec] | None = None,
                   seeds: Sequence[int] | None = None, families: Sequence[str] | None = None,
                   scores: np.ndarray | None = None, scale: str = "gzip-int32-ref", sensitivity: bool = True,
                   gallery_size: int = 3, device: str = "auto", band_edges: Sequence[float] | None = None,
                   config: SimConfig | None = None, saturation: float = 0.25) -> dict[str, Any]:
    """Analyse trajectories ``frames`` (B, T, H, W). With ``specs`` (and ``seeds``) the one-cell sensitivity
    is measured by re-simulating each rule from its frame 0; without, it is skipped.

    Returns a dict: n, scale, horizon, records (one dict per trajectory), measures (name → (B,) array),
    families / bands (B,) labels, band_order, distributions, activity_over_time, attractors, sensitivity,
    correlations, gallery (band → indices) and frames (uint8 numpy) for the figures."""
    x = np.asarray(frames.cpu() if isinstance(frames, torch.Tensor) else frames).astype(np.uint8)
    b, t, h, w = x.shape
    specs = [validate_spec(s) for s in specs] if specs is not None else None
    if specs is not None and len(specs) != b:
        raise ValueError(f"got {b} trajectories but {len(specs)} rule specs")
    if families is None:
        families = [s["family"] for s in specs] if specs is not None else ["unknown"] * b
    fam = np.array(list(families), dtype=object)
    seeds = list(seeds) if seeds is not None else list(range(b))
    n_states = np.array([num_states(s) for s in specs] if specs is not None else [int(x.max()) + 1] * b)
    if scale not in SCALES:
        raise ValueError(f"unknown complexity scale {scale!r}; choose one of {SCALES}")
    score_arr = np.full(b, np.nan) if scores is None else np.asarray(scores, dtype=np.float64)
    edges = tuple(band_edges) if band_edges is not None else BAND_EDGES[scale]
    bands = assign_bands(score_arr, scale, edges)
    band_order = [*band_labels(edges), "unscored"]

    m = trajectory_measures(x, int(max(n_states.max(), x.max() + 1)) if b else 2)
    sens = None
    if sensitivity and specs is not None and b and t > 1:
        sens = perturbation_divergence(specs, seeds, x[:, 0], t, saturation=saturation, device=device)
    measures: dict[str, np.ndarray] = {
        "complexity": score_arr,
        "entropy": m["entropy"],
        "activity": m["activity"],
        "distinct_states": m["distinct_states"],
        # transient and period are undefined (NaN) where nothing recurs within the horizon
        "transient": np.where(m["period"] > 0, m["transient"], np.nan),
        "period": np.where(m["period"] > 0, m["period"], np.nan),
    }
    if sens is not None:
        measures["damage_rate"] = sens["rate"]
        measures["final_damage"] = sens["final_damage"]

    records = []
    for i in range(b):
        rec = {"index": i, "family": str(fam[i]), "seed": int(seeds[i]), "n_states": int(n_states[i]),
               "rule_spec": spec_to_json(specs[i]) if specs is not None else None,
               "complexity": _num(score_arr[i]), "band": str(bands[i]), "entropy": float(m["entropy"][i]),
               "activity": float(m["activity"][i]), "distinct_states": int(m["distinct_states"][i]),
               "period": int(m["period"][i]), "transient": int(m["transient"][i]), "attractor": str(m["attractor"][i])}
        if sens is not None:
            rec.update(damage_rate=float(sens["rate"][i]), final_damage=float(sens["final_damage"][i]),
                       healed=bool(sens["healed"][i]))
        records.append(rec)

    fam_order = _ordered(fam)
    present_bands = _ordered(bands, band_order)
    distributions = {}
    for name in ("complexity", "entropy", "activity", "distinct_states", "transient", "damage_rate"):
        if name not in measures:
            continue
        v = measures[name]
        distributions[name] = {
            "all": summarize(v),
            "by_family": {f: summarize(v[fam == f]) for f in fam_order},
            "by_band": {bd: summarize(v[bands == bd]) for bd in present_bands},
            "by_family_band": {f: {bd: summarize(v[(fam == f) & (bands == bd)]) for bd in present_bands
                                   if ((fam == f) & (bands == bd)).any()} for f in fam_order},
        }
    curves = m["activity_curve"]
    activity_over_time = {
        "curves": curves,
        "all": _curve_stats(curves),
        "by_family": {f: _curve_stats(curves[fam == f]) for f in fam_order},
        "by_band": {bd: _curve_stats(curves[bands == bd]) for bd in present_bands},
    }
    kinds = m["attractor"]

    def count(mask: np.ndarray) -> dict[str, int]:
        return {k: int(((kinds == k) & mask).sum()) for k in ATTRACTOR_KINDS}

    with_attractor = m["period"] > 0
    attractors = {
        "horizon": t,
        "all": count(np.ones(b, dtype=bool)),
        "by_family": {f: count(fam == f) for f in fam_order},
        "by_band": {bd: count(bands == bd) for bd in present_bands},
        "period_counts": {int(p): int((m["period"] == p).sum()) for p in sorted(set(m["period"][with_attractor].tolist()))},
        "transient_counts": {int(v): int((m["transient"][with_attractor] == v).sum())
                             for v in sorted(set(m["transient"][with_attractor].tolist()))},
        "transient": summarize(m["transient"][with_attractor]),
        "transient_by_family": {f: summarize(m["transient"][with_attractor & (fam == f)]) for f in fam_order},
    }
    sensitivity_out = None
    if sens is not None:
        frac = sens["hamming_fraction"]
        sensitivity_out = {
            "saturation": saturation,
            "hamming": sens["hamming"],
            "all": _curve_stats(frac),
            "by_family": {f: _curve_stats(frac[fam == f]) for f in fam_order},
            "by_band": {bd: _curve_stats(frac[bands == bd]) for bd in present_bands},
            "rate": summarize(sens["rate"]),
            "rate_by_family": {f: summarize(sens["rate"][fam == f]) for f in fam_order},
            "rate_by_band": {bd: summarize(sens["rate"][bands == bd]) for bd in present_bands},
            "healed_share": {f: float(sens["healed"][fam == f].mean()) for f in fam_order},
            "spread_share": {f: float((sens["rate"][fam == f] > 0).mean()) for f in fam_order},
        }
    return {
        "n": b, "scale": scale, "band_edges": list(edges), "horizon": t, "grid": [h, w],
        "config": config.to_dict() if config is not None else None,
        "records": records, "measures": measures, "families": fam, "bands": bands,
        "family_order": fam_order, "band_order": present_bands,
        "distributions": distributions, "activity_over_time": activity_over_time, "attractors": attractors,
        "sensitivity": sensitivity_out, "correlations": correlation_matrix(measures),
        "gallery": pick_gallery(bands, fam, gallery_size, band_order), "frames": x, "n_states": n_states,
    }


def _num(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


# ------------------------------------------------------------------------------------------- output
def to_jsonable(obj: Any) -> Any:
    """Numpy → lists / Python numbers, NaN → None, recursively."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer, int)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        return None if not np.isfinite(obj) else float(obj)
    return obj


def summary(analysis: dict[str, Any]) -> dict[str, Any]:
    """The analysis without the bulky arrays (frames, per-step curves), JSON-ready."""
    keep = {k: v for k, v in analysis.items() if k not in ("frames", "measures", "families", "bands", "n_states")}
    keep["activity_over_time"] = {k: v for k, v in analysis["activity_over_time"].items() if k != "curves"}
    if analysis["sensitivity"] is not None:
        keep["sensitivity"] = {k: v for k, v in analysis["sensitivity"].items() if k != "hamming"}
    return to_jsonable(keep)


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "–"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    return f"{round(float(x), digits) + 0.0:.{digits}f}"  # + 0.0 turns -0.0 into 0.0


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(c) if not isinstance(c, str) else c for c in row) + " |" for row in rows]
    return lines


def report_markdown(analysis: dict[str, Any], figures: dict[str, str] | None = None, title: str = "NCA dynamics report",
                    source: str = "") -> str:
    """The Markdown report of an analysis; ``figures`` maps figure names to (relative) PNG paths."""
    figures = figures or {}
    a = analysis
    scale = a["scale"]
    out = [f"# {title}", ""]
    if source:
        out += [f"Source: {source}", ""]
    out += [f"{a['n']} trajectories of {a['horizon']} frames on a {a['grid'][0]}×{a['grid'][1]} grid"
            + (f" (simulation {a['config']})" if a["config"] else "") + f". Complexity is the gzip score on the "
            f"`{scale}` scale; bands cut at {', '.join(f'{e:g}' for e in a['band_edges'])}.", ""]

    def fig(name: str) -> list[str]:
        return [f"![{name}]({figures[name]})", ""] if name in figures else []

    out += ["## Population", ""]
    rows = []
    for f in a["family_order"]:
        by = a["distributions"]["complexity"]["by_family_band"].get(f, {})
        rows.append([f, sum(1 for r in a["records"] if r["family"] == f)]
                    + [by.get(bd, {}).get("n", 0) for bd in a["band_order"]])
    rows.append(["all", a["n"]] + [a["distributions"]["complexity"]["by_band"][bd]["n"] for bd in a["band_order"]])
    out += _table(["family", "rules", *a["band_order"]], rows) + [""]

    out += ["## Distributions of the measures", "",
            "Mean (median) per family; per band below. Entropy in bits, activity as the fraction of cells "
            "changing per step.", ""]
    names = [n for n in ("complexity", "entropy", "activity", "distinct_states") if n in a["distributions"]]
    rows = [[f] + [f"{_fmt(a['distributions'][n]['by_family'][f].get('mean'))} "
                   f"({_fmt(a['distributions'][n]['by_family'][f].get('median'))})" for n in names]
            for f in a["family_order"]]
    rows.append(["all"] + [f"{_fmt(a['distributions'][n]['all'].get('mean'))} "
                           f"({_fmt(a['distributions'][n]['all'].get('median'))})" for n in names])
    out += _table(["family", *names], rows) + [""]
    rows = [[bd, a["distributions"]["complexity"]["by_band"][bd]["n"]]
            + [f"{_fmt(a['distributions'][n]['by_band'][bd].get('mean'))}" for n in names]
            for bd in a["band_order"]]
    out += _table(["band", "n", *names], rows) + [""]
    for n in ("entropy", "activity"):
        cells = a["distributions"][n]["by_family_band"]
        rows = [[f] + [_fmt(cells[f][bd]["mean"]) if bd in cells[f] else "" for bd in a["band_order"]]
                for f in a["family_order"]]
        out += [f"Mean {n} per family and band:", ""] + _table(["family", *a["band_order"]], rows) + [""]
    for n in names:
        out += fig(f"dist_{n}")

    out += ["## Activity over time", "", "Mean fraction of cells changing at each step, per family.", ""]
    steps = len(a["activity_over_time"]["all"]["mean"])
    marks = sorted({0, steps // 4, steps // 2, 3 * steps // 4, steps - 1}) if steps else []
    rows = [[f] + [_fmt(a["activity_over_time"]["by_family"][f]["mean"][s]) for s in marks] for f in a["family_order"]]
    out += _table(["family", *[f"step {s}→{s + 1}" for s in marks]], rows) + [""] + fig("activity_over_time")

    at = a["attractors"]
    out += ["## Attractors", "", f"Within the {at['horizon']}-frame horizon: a frame recurs after `period` steps "
            "(1 = fixed point) following a `transient` of that many frames; 'none' = nothing recurs.", ""]
    rows = [[f, *[at["by_family"][f][k] for k in ATTRACTOR_KINDS], _fmt(at["transient_by_family"][f].get("mean"))]
            for f in a["family_order"]]
    rows.append(["all", *[at["all"][k] for k in ATTRACTOR_KINDS], _fmt(at["transient"].get("mean"))])
    out += _table(["family", *ATTRACTOR_KINDS, "mean transient"], rows) + [""]
    rows = [[bd, *[at["by_band"][bd][k] for k in ATTRACTOR_KINDS]] for bd in a["band_order"]]
    out += _table(["band", *ATTRACTOR_KINDS], rows) + [""]
    if at["period_counts"]:
        out += ["Periods found: " + ", ".join(f"{p}: {c}" for p, c in at["period_counts"].items()), ""]
    out += fig("attractors")

    s = a["sensitivity"]
    out += ["## Sensitivity to a one-cell perturbation", ""]
    if s is None:
        out += ["Not measured (needs the rule specs to re-simulate).", ""]
    else:
        out += ["Each rule is run from its frame 0 and from frame 0 with the centre cell moved to the next state. "
                "Damage d_t = cells that differ at step t (d_0 = 1); rate = log(max(d_K, 1/2) / d_0) / K nats per step, "
                f"K the first step the damage covers {s['saturation']:g} of the grid (else the horizon).", ""]
        rows = [[f, _fmt(s["rate_by_family"][f].get("mean")), _fmt(s["rate_by_family"][f].get("median")),
                 _fmt(s["by_family"][f]["mean"][-1] if s["by_family"][f]["mean"] else None),
                 _fmt(s["spread_share"][f]), _fmt(s["healed_share"][f])] for f in a["family_order"]]
        rows.append(["all", _fmt(s["rate"].get("mean")), _fmt(s["rate"].get("median")),
                     _fmt(s["all"]["mean"][-1] if s["all"]["mean"] else None), "", ""])
        out += _table(["family", "mean rate", "median rate", "final damage", "share spreading", "share healed"], rows)
        out += [""] + fig("sensitivity")

    c = a["correlations"]
    out += ["## Correlations between measures (Spearman)", ""]
    rows = [[n, *[_fmt(float(v), 2) for v in c["spearman"][i]]] for i, n in enumerate(c["measures"])]
    out += _table(["", *c["measures"]], rows) + [""] + fig("correlations")

    out += ["## Gallery", "", "Example rollouts per complexity band (frames left to right, rows are rules).", ""]
    for bd, idx in a["gallery"].items():
        desc = "; ".join(f"#{i} {a['records'][i]['family']} score {_fmt(a['records'][i]['complexity'])}" for i in idx)
        out += [f"- `{bd}`: {desc}"]
    out += [""] + fig("gallery")
    return "\n".join(out) + "\n"


def write_report(analysis: dict[str, Any], out_dir: str | Path, title: str = "NCA dynamics report",
                 source: str = "") -> dict[str, Path]:
    """Write report.md, summary.json and one PNG per figure into ``out_dir``; returns name → path."""
    from .plotting import save_figures

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pngs = save_figures(analysis, out)
    text = report_markdown(analysis, {k: p.name for k, p in pngs.items()}, title=title, source=source)
    (out / "report.md").write_text(text, encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(summary(analysis), indent=1, allow_nan=False), encoding="utf-8")
    return {"report": out / "report.md", "summary": out / "summary.json", **pngs}
