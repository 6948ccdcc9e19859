"""The Tasks tab: one example of each of the four evaluation tasks, scored by ``evaluate_metrics``.

The example comes from the held-out task set (``evaluate_metrics.tasks``, a small build of
``nca-eval-v1`` on the model's grid); the model's predictions, the baselines and every metric come from
the harness (``evaluate_metrics.harness.run_eval`` on a one-example task set), so the numbers shown are
exactly what ``nca eval`` computes."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from nca_core import render

TASK_TITLES = {
    "next_step": "1 · Next-step prediction",
    "long_horizon": "2 · Long-horizon evolution",
    "rule_id": "3 · Rule recognition",
    "reverse": "4 · Reverse reasoning",
}
HEADLINE = {  # the metrics each task's row shows
    "next_step": ("exact_match", "cell_accuracy", "macro_f1"),
    "long_horizon": ("cell_accuracy", "exact_match", "mean_first_error_step"),
    "rule_id": ("accuracy", "functional_accuracy", "family_accuracy"),
    "reverse": ("forward_exact", "forward_cell_accuracy", "initial_exact"),
}
BASELINES = ("copy_last_frame", "most_frequent_state", "oracle", "chance")
DEMO_TASK_SET = {"rules_per_cell": 1, "max_candidates": 64}  # a quick build: one rule per (family, band)


def task_set_for(model, encoding: dict):
    """The demo's task set on the model's grid and sequence length (cached by the harness)."""
    from evaluate_metrics.harness import spec_for_model
    from evaluate_metrics.tasks import build_task_set, get_task_set_spec

    return build_task_set(spec=spec_for_model(get_task_set_spec("nca-eval-v1", **DEMO_TASK_SET), model, encoding))


def pick_example(task_set, family: str, index: int):
    """A one-example task set: the ``index``-th rule of ``family`` ("any": of all) for every task."""
    from evaluate_metrics.tasks import TaskSet

    rows = [i for i, r in enumerate(task_set.rules) if family in ("any", "", None) or r["family"] == family]
    if not rows:
        have = sorted({r["family"] for r in task_set.rules})
        raise ValueError(f"the task set has no {family} rule on this model's grid; choose one of {have}")
    row = rows[index % len(rows)]
    examples = {task: [exs[row]] for task, exs in task_set.examples.items()}
    return TaskSet(task_set.spec, [task_set.rules[row]], examples, task_set.coverage), row


def run_all(bundle, index: int, family: str = "any") -> dict:
    """Score one example of each task with the harness. Returns {"example": …, "report": …, "images": …}."""
    from evaluate_metrics.harness import predict_frames, run_eval

    model, encoding = bundle
    full = task_set_for(model, encoding)
    one, row = pick_example(full, family, index)
    report = run_eval(None, model=model, encoding=encoding, task_set=one, progress=False, plots=False)
    lh = one.examples["long_horizon"][0]
    predicted = predict_frames(model, encoding, lh["context"][None], len(lh["target"])).numpy()[0]
    rule = one.rules[0]
    return {"example": {"row": row, "of": len(full.rules), "family": rule["family"], "band": rule["band"],
                        "complexity": rule["complexity"], "rule_spec": rule["rule_spec"],
                        "task_set": one.spec.label},
            "report": _jsonable(report), "images": example_images(one, predicted)}


def example_images(one, predicted: np.ndarray) -> dict:
    """PIL images of the example of each task (inputs, truth and, for the rollout tasks, the model)."""
    n = int(one.spec.n_states)
    lh = one.examples["long_horizon"][0]
    scale = max(4, min(16, 192 // max(lh["target"].shape[-2:])))
    rid = one.examples["rule_id"][0]
    rev = one.examples["reverse"][0]
    return {
        "context": render.strip_image(lh["context"], n, scale),
        "rollout": render.compare_image(lh["target"], predicted, n, scale),
        "rule_id": _stack([render.strip_image(rid["query"], n, scale)]
                          + [render.strip_image(d, n, scale) for d in rid["demos"]]),
        "reverse": _stack([render.strip_image(rev["demo"], n, scale),
                           render.strip_image(np.stack([rev["initial"], rev["final"]]), n, scale)]),
    }


def _stack(images):
    from PIL import Image

    width = max(im.width for im in images)
    height = sum(im.height for im in images) + 8 * (len(images) - 1)
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    y = 0
    for im in images:
        canvas.paste(im, (0, y))
        y += im.height + 8
    return canvas


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def report_markdown(result: dict) -> str:
    """Per task: the model's metrics next to the baselines."""
    ex, report = result["example"], result["report"]
    lines = [f"Example {ex['row'] + 1} of {ex['of']} in `{ex['task_set']}`: a held-out **{ex['family']}** rule, "
             f"complexity band **{ex['band']}** ({ex['complexity']:.3f} on the reference scale). "
             f"Rule: `{ex['rule_spec']}`", ""]
    for task, title in TASK_TITLES.items():
        scores = report.get(task)
        if not scores:
            continue
        base = [b for b in BASELINES if b in scores.get("baselines", {})]
        lines += [f"**{title}**", "", "| metric | model | " + " | ".join(b.replace("_", " ") for b in base) + " |",
                  "|---|---|" + "---|" * len(base)]
        for metric in HEADLINE[task]:
            if metric not in scores:
                continue
            row = [_fmt(scores[metric])] + [_fmt(scores["baselines"][b].get(metric)) for b in base]
            lines.append(f"| {metric.replace('_', ' ')} | " + " | ".join(row) + " |")
        if task == "long_horizon" and "cell_accuracy_at" in scores:
            curve = ", ".join(f"{x:.2f}" for x in scores["cell_accuracy_at"])
            lines.append(f"\nCell accuracy at h = 1..{len(scores['cell_accuracy_at'])}: {curve}")
        lines.append("")
    return "\n".join(lines)


def report_json(result: dict) -> str:
    return json.dumps(result["report"], indent=1)
