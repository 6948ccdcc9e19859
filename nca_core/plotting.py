"""Figures of a dynamics analysis (:func:`nca_core.analysis.analyze_frames`), with matplotlib's
object-oriented API only (no pyplot, no global backend switch): every function returns a Figure and
:func:`save_figures` writes them all as PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .analysis import ATTRACTOR_KINDS

_MEASURE_LABELS = {
    "complexity": "gzip score",
    "entropy": "state entropy (bits)",
    "activity": "activity (fraction of cells changing / step)",
    "distinct_states": "distinct states",
}


def _colors(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]


def measure_distribution_figure(analysis: dict[str, Any], measure: str) -> Figure:
    """Histogram of ``measure`` per family (left) and its spread per complexity band (right)."""
    a = analysis
    values = np.asarray(a["measures"][measure], dtype=np.float64)
    fam, bands = a["families"], a["bands"]
    fig = Figure(figsize=(11, 4), layout="constrained")
    left, right = fig.subplots(1, 2)
    finite = values[np.isfinite(values)]
    bins = np.linspace(finite.min(), finite.max() + 1e-9, 21) if len(finite) else 10
    for color, f in zip(_colors(len(a["family_order"])), a["family_order"], strict=True):
        v = values[(fam == f) & np.isfinite(values)]
        if len(v):
            left.hist(v, bins=bins, alpha=0.55, color=color, label=f"{f} (n={len(v)})")
    label = _MEASURE_LABELS.get(measure, measure)
    if measure == "complexity":
        label += f" ({a['scale']})"
        for edge in a["band_edges"]:
            left.axvline(edge, color="grey", lw=0.8, ls="--")
    left.set_xlabel(label)
    left.set_ylabel("rules")
    left.set_title(f"{measure} per family")
    if len(finite):
        left.legend(fontsize=8)
    groups = [(bd, values[(bands == bd) & np.isfinite(values)]) for bd in a["band_order"]]
    groups = [(bd, v) for bd, v in groups if len(v)]
    if groups:
        right.boxplot([v for _, v in groups])  # labels set below: boxplot's keyword changed name in matplotlib 3.9
        right.set_xticks(range(1, len(groups) + 1), [f"{bd}\nn={len(v)}" for bd, v in groups])
    right.set_xlabel(f"complexity band ({a['scale']})")
    right.set_ylabel(label)
    right.set_title(f"{measure} per band")
    return fig


def activity_over_time_figure(analysis: dict[str, Any]) -> Figure:
    """Mean fraction of cells changing per step (shaded: interquartile range), per family and per band."""
    a = analysis["activity_over_time"]
    fig = Figure(figsize=(11, 4), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, key, order, title in ((axes[0], "by_family", analysis["family_order"], "per family"),
                                  (axes[1], "by_band", analysis["band_order"], "per complexity band")):
        for color, name in zip(_colors(len(order)), order, strict=True):
            stats = a[key][name]
            if not stats["mean"]:
                continue
            steps = np.arange(1, len(stats["mean"]) + 1)
            ax.plot(steps, stats["mean"], color=color, label=name)
            ax.fill_between(steps, stats["q25"], stats["q75"], color=color, alpha=0.15)
        ax.set_xlabel("step")
        ax.set_title(f"activity over time, {title}")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("fraction of cells changing")
    return fig


def attractors_figure(analysis: dict[str, Any]) -> Figure:
    """Attractor kinds per family (stacked bars), transient lengths and periods of the rules that settle."""
    at = analysis["attractors"]
    fams = analysis["family_order"]
    fig = Figure(figsize=(14, 4), layout="constrained")
    ax_kind, ax_trans, ax_period = fig.subplots(1, 3)
    bottom = np.zeros(len(fams))
    for color, kind in zip(("tab:blue", "tab:orange", "tab:grey"), ATTRACTOR_KINDS, strict=True):
        counts = np.array([at["by_family"][f][kind] for f in fams])
        ax_kind.bar(fams, counts, bottom=bottom, color=color, label=kind)
        bottom += counts
    ax_kind.set_ylabel("rules")
    ax_kind.set_title(f"attractor within {at['horizon']} frames")
    ax_kind.legend(fontsize=8)
    ax_kind.tick_params(axis="x", labelrotation=20)
    for ax, key, title in ((ax_trans, "transient_counts", "transient length"), (ax_period, "period_counts", "period")):
        counts = at[key]
        ax.bar([str(k) for k in counts], list(counts.values()), color="tab:blue")
        ax.set_xlabel(f"{title} (frames)")
        ax.set_ylabel("rules")
        ax.set_title(f"{title} of rules that settle")
    for ax in (ax_kind, ax_trans, ax_period):
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def sensitivity_figure(analysis: dict[str, Any]) -> Figure:
    """Damage (cells differing after a one-cell perturbation) over time per family, and the growth rates."""
    s = analysis["sensitivity"]
    fig = Figure(figsize=(11, 4), layout="constrained")
    ax_curve, ax_rate = fig.subplots(1, 2)
    if s is None:
        ax_curve.text(0.5, 0.5, "sensitivity not measured", ha="center", va="center")
        return fig
    fams = analysis["family_order"]
    cells = analysis["grid"][0] * analysis["grid"][1]
    for color, f in zip(_colors(len(fams)), fams, strict=True):
        stats = s["by_family"][f]
        steps = np.arange(len(stats["mean"]))
        ax_curve.plot(steps, np.maximum(np.asarray(stats["mean"]) * cells, 1e-2), color=color, label=f)
    ax_curve.set_yscale("log")
    ax_curve.set_xlabel("step")
    ax_curve.set_ylabel("mean cells differing (Hamming)")
    ax_curve.set_title("divergence after a one-cell perturbation")
    ax_curve.legend(fontsize=8)
    rate = np.asarray(analysis["measures"]["damage_rate"])
    fam = analysis["families"]
    bins = np.linspace(rate.min(), rate.max() + 1e-9, 21)
    for color, f in zip(_colors(len(fams)), fams, strict=True):
        ax_rate.hist(rate[fam == f], bins=bins, alpha=0.55, color=color, label=f)
    ax_rate.axvline(0, color="grey", lw=0.8, ls="--")
    ax_rate.set_xlabel("Lyapunov-like damage growth rate (nats / step)")
    ax_rate.set_ylabel("rules")
    ax_rate.legend(fontsize=8)
    return fig


def correlations_figure(analysis: dict[str, Any]) -> Figure:
    """Heat map of the Spearman rank correlations between the measures."""
    c = analysis["correlations"]
    names, mat = c["measures"], np.asarray(c["spearman"], dtype=np.float64)
    fig = Figure(figsize=(1.1 * len(names) + 2, 1.0 * len(names) + 1.5), layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(np.nan_to_num(mat, nan=0.0), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(len(names)), names, rotation=40, ha="right")
    ax.set_yticks(range(len(names)), names)
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, "–" if np.isnan(mat[i, j]) else f"{mat[i, j]:.2f}", ha="center", va="center", fontsize=8)
    fig.colorbar(im, ax=ax, label="Spearman ρ")
    ax.set_title("rank correlations between measures")
    return fig


def gallery_figure(analysis: dict[str, Any], frames_shown: int = 6) -> Figure:
    """Example rollouts per complexity band: one row per rule, ``frames_shown`` evenly spaced frames."""
    frames, records = analysis["frames"], analysis["records"]
    rows = [(bd, i) for bd, idx in analysis["gallery"].items() for i in idx]
    t = frames.shape[1]
    cols = np.unique(np.linspace(0, t - 1, min(frames_shown, t)).round().astype(int))
    fig = Figure(figsize=(1.3 * len(cols) + 2.5, 1.35 * max(len(rows), 1) + 0.5), layout="constrained")
    if not rows:
        fig.text(0.5, 0.5, "no trajectories", ha="center")
        return fig
    axes = np.atleast_2d(fig.subplots(len(rows), len(cols)))
    for r, (bd, i) in enumerate(rows):
        n = int(analysis["n_states"][i])
        for c, step in enumerate(cols):
            ax = axes[r, c]
            ax.imshow(frames[i, step], cmap="viridis", vmin=0, vmax=max(n - 1, 1), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"t={step}", fontsize=8)
        rec = records[i]
        score = "–" if rec["complexity"] is None else f"{rec['complexity']:.2f}"
        axes[r, 0].set_ylabel(f"{bd}\n{rec['family']} #{i}\n{score}", fontsize=7, rotation=0, ha="right", va="center")
    fig.suptitle(f"gallery per complexity band ({analysis['scale']})")
    return fig


def save_figures(analysis: dict[str, Any], out_dir: str | Path, dpi: int = 90) -> dict[str, Path]:
    """Write every figure of the analysis as PNG into ``out_dir``; returns figure name → path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Figure] = {}
    for name in ("complexity", "entropy", "activity", "distinct_states"):
        if name in analysis["measures"]:
            figures[f"dist_{name}"] = measure_distribution_figure(analysis, name)
    figures["activity_over_time"] = activity_over_time_figure(analysis)
    figures["attractors"] = attractors_figure(analysis)
    if analysis["sensitivity"] is not None:
        figures["sensitivity"] = sensitivity_figure(analysis)
    figures["correlations"] = correlations_figure(analysis)
    figures["gallery"] = gallery_figure(analysis)
    paths = {}
    for name, fig in figures.items():
        paths[name] = out / f"{name}.png"
        fig.savefig(paths[name], dpi=dpi)
    return paths
