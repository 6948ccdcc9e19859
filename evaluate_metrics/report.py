"""Writing an evaluation report: report.json, meta.json, report.md and PNG plots."""

from __future__ import annotations

import json
from pathlib import Path

# the headline metric of each task (shown in tables and per-family bars)
HEADLINE = {"next_step": "cell_accuracy", "long_horizon": "cell_accuracy", "rule_id": "accuracy",
            "reverse": "forward_exact"}
COLUMNS = {
    "next_step": ["exact_match", "cell_accuracy", "macro_f1"],
    "long_horizon": ["cell_accuracy", "exact_match", "mean_first_error_step", "horizon_below_threshold"],
    "rule_id": ["accuracy", "functional_accuracy", "macro_f1", "family_accuracy", "family_macro_f1"],
    "reverse": ["forward_exact", "forward_cell_accuracy", "initial_exact"],
}


def _fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def markdown(report: dict, meta: dict) -> str:
    lines = [f"# NCA evaluation: {meta.get('model') or 'baselines only'}", "",
             f"Task set `{meta['task_set']}` (fingerprint `{meta.get('task_set_fingerprint')}`); "
             f"encoding `{meta['encoding'].get('encoding')}`; "
             f"{meta['seconds']} s.", ""]
    for task, res in report.items():
        cols = COLUMNS[task]
        lines += [f"## {task}", "", f"{meta['num_examples'][task]} examples.", "",
                  "| predictor | " + " | ".join(cols) + " | malformed |", "|---" * (len(cols) + 2) + "|"]
        rows = ([("model", res)] if "num_examples" in res else []) + list(res["baselines"].items())
        for name, r in rows:
            lines.append(f"| {name} | " + " | ".join(_fmt(r.get(c)) for c in cols) + f" | {r.get('num_malformed', 0)} |")
        key = HEADLINE[task]
        source = res if "num_examples" in res else res["baselines"].get("oracle", {})
        label = "model" if "num_examples" in res else "oracle"
        for breakdown in ("by_family", "by_band"):
            groups = source.get(breakdown, {})
            if groups:
                lines += ["", f"{key} of the {label} {breakdown.replace('_', ' ')}: " +
                          ", ".join(f"{g} {_fmt(v.get(key))} (n={v.get('num_examples')})" for g, v in groups.items())]
        if task == "long_horizon" and "cell_accuracy_at" in source:
            lines += ["", f"{label} cell accuracy at h = 1..{source['horizon']}: " +
                      ", ".join(f"{x:.3f}" for x in source["cell_accuracy_at"])]
        lines.append("")
    lines += ["Baselines: copy_last_frame (repeat the last given frame), most_frequent_state (a uniform grid of the "
              "most frequent given state), oracle (the true rule, simulated from the last given frame; stochastic "
              "rules keep their noise), simulate_candidates (rule_id: the candidate whose simulation best "
              "reproduces the query, ties broken by order: the ceiling for any recogniser), chance (uniform random states / candidate).", ""]
    coverage = meta.get("coverage") or {}
    if coverage:
        bands = list(next(iter(coverage.values())))
        lines += ["Rules per family and complexity band:", "", "| family | " + " | ".join(bands) + " |",
                  "|---" * (len(bands) + 1) + "|"]
        lines += [f"| {f} | " + " | ".join(str(c[b]) for b in bands) + " |" for f, c in coverage.items()]
    return "\n".join(lines) + "\n"


def plot(report: dict, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    if "long_horizon" in report:
        res = report["long_horizon"]
        fig, ax = plt.subplots(figsize=(6, 4))
        for name, r in ([("model", res)] if "cell_accuracy_at" in res else []) + list(res["baselines"].items()):
            curve = r["cell_accuracy_at"]
            ax.plot(range(1, len(curve) + 1), curve, marker="o", label=name, lw=2.5 if name == "model" else 1)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set(xlabel="horizon h (frames after the context)", ylabel="cell accuracy", ylim=(0, 1.02),
               title="long-horizon rollout")
        ax.legend()
        fig.tight_layout()
        written.append(_save(fig, out / "accuracy_vs_horizon.png"))
    if "rule_id" in report:
        res = report["rule_id"]
        source = res if "family_confusion_matrix" in res else res["baselines"]["oracle"]
        labels, matrix = source["family_labels"], source["family_confusion_matrix"]
        fig, ax = plt.subplots(figsize=(5, 4.5))
        ax.imshow(matrix, cmap="Blues")
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
        ax.set_yticks(range(len(labels)), labels)
        for i, row in enumerate(matrix):
            for j, v in enumerate(row):
                colour = "white" if v > 0.6 * max(max(r) for r in matrix) else "black"
                ax.text(j, i, str(v), ha="center", va="center", fontsize=8, color=colour)
        ax.set(xlabel="predicted family", ylabel="true family",
               title="rule recognition (family)" + ("" if source is res else ", oracle"))
        fig.tight_layout()
        written.append(_save(fig, out / "confusion_matrix.png"))
    names = ["model", "copy_last_frame", "most_frequent_state", "oracle", "simulate_candidates", "chance"]
    colours = dict(zip(names, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    fig, axes = plt.subplots(1, len(report), figsize=(4 * len(report), 3.6), squeeze=False)
    for ax, (task, res) in zip(axes[0], report.items()):
        key = HEADLINE[task]
        predictors = ([("model", res)] if "by_family" in res else []) + [
            (n, r) for n, r in res["baselines"].items() if "by_family" in r]
        families = sorted({f for _, r in predictors for f in r["by_family"]})
        width = 0.8 / len(names)
        for name, r in predictors:
            k = names.index(name) if name in names else len(names) - 1
            ax.bar([i + k * width for i in range(len(families))],
                   [r["by_family"].get(f, {}).get(key, 0.0) for f in families], width, label=name,
                   color=colours.get(name))
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(families))], families, rotation=45, ha="right")
        ax.set(title=f"{task}: {key}", ylim=(0, 1.02))
    handles = {}
    for ax in axes[0]:
        for h, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, h)
    fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=len(handles), fontsize=8)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    written.append(_save(fig, out / "per_family.png"))
    return written


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_report(report: dict, meta: dict, out_dir: str | Path, plots: bool = True) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "meta.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")
    (out / "report.md").write_text(markdown(report, meta))
    if plots:
        plot(report, out)
    return out
