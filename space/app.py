"""The NCA demo: explore rule families, watch a model predict a trajectory, run the four tasks, browse a
dataset. Runs as ``nca demo`` and as a Hugging Face Space (``python app.py``).

Every handler returns its outputs plus an error Markdown: bad input (an unloadable model, a nonsense
seed or size, a file that is not a trajectory) becomes a message in the page, never a dead server.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

if __name__ == "__main__" and __package__ in (None, ""):  # `python space/app.py` from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import gradio as gr
import numpy as np

import nca_core as nc

try:
    from space import logic
except ImportError:  # the Space layout: app.py next to logic.py
    import logic  # type: ignore[no-redef]

FAMILIES = sorted(nc.FAMILIES)
EXAMPLE_RULES = {
    "lifelike": "B3/S23",
    "symbolic": '{"family": "symbolic", "kind": "cyclic", "n_states": 8, "threshold": 1}',
}
INTRO = """# Neural cellular automata: rules, data and a model that predicts them
Neural cellular automata (NCA) generate the synthetic data of *pre-pre-training* (arXiv 2603.10055): a
language model first learns to predict grids of states evolving under random rules, then moves on to text.
**Explore** the rule families, let a small model **Predict** a trajectory, run the four evaluation **Tasks**
and browse a **Dataset**."""


def _error(err: Exception | str) -> str:
    """The message for the page (and a toast). Bad input raises ValueError with a message meant for the user;
    anything else is a bug or an environment problem: logged with its traceback, shown with its type."""
    if isinstance(err, ValueError | str):
        msg = str(err)
    else:
        logging.getLogger("nca.space").exception("unexpected error in the demo")
        msg = f"unexpected {type(err).__name__}: {str(err)[:300]} (see the server log)"
    gr.Warning(msg)
    return f"**Error:** {msg}"


# ------------------------------------------------------------------------------------------------- explore
def run_explore(family, rule_text, rule_seed, n_states, preset, tau, density, generations, kind, lam,
                lenia_manual, radius, mu, sigma, lenia_dt, smooth_manual, inner_radius, b1, b2, d1, d2, smooth_dt,
                init_seed, size, frames, burn_in):
    """→ (gif path, strip PNG, labels Markdown, labels dict, rule spec JSON, error Markdown)."""
    try:
        knobs = logic.Knobs(n_states=n_states, preset=preset, tau=tau, density=density,
                            generations=generations, kind=kind, lam=lam, lenia_manual=bool(lenia_manual),
                            radius=radius, mu=mu, sigma=sigma, lenia_dt=lenia_dt, smooth_manual=bool(smooth_manual),
                            inner_radius=inner_radius, b1=b1, b2=b2, d1=d1, d2=d2, smooth_dt=smooth_dt)
        spec = logic.resolve_rule(family, rule_text, rule_seed, knobs)
        result = logic.explore(spec, init_seed, size, frames, burn_in)
    except Exception as err:  # noqa: BLE001 — every failure becomes a message in the page
        return None, None, "", None, "", _error(err)
    gif = logic.gif_file(result.frames, result.n_states)
    image = logic.strip(result.frames, result.n_states)
    return gif, image, logic.labels_markdown(result.labels), _js_safe(result.labels), nc.spec_to_json(spec), ""


KNOB_GROUPS = ("neural", "lifelike", "symbolic", "lenia", "smoothlife")


def knob_visibility(family):
    return tuple(gr.update(visible=family == name) for name in KNOB_GROUPS)


# ------------------------------------------------------------------------------------------------- predict
def run_predict(model_name, family, rule_text, rule_seed, init_seed, context, horizon, upload):
    """→ (context strip PNG, truth-vs-prediction PNG, side-by-side GIF, per-step accuracy table, summary,
    error Markdown)."""
    empty = (None, None, None, None, "")
    try:
        n_ctx = logic.as_int(context, "context frames", 1, logic.MAX_FRAMES)
        steps = logic.as_int(horizon, "frames to predict", 1, logic.MAX_FRAMES)
        uploaded = None
        if upload:  # checked before the model loads, so a bad file is reported at once
            path = upload if isinstance(upload, str) else getattr(upload, "name", upload)
            uploaded = logic.read_trajectory(path, n_states=36)
        bundle = logic.get_model(model_name)
        encoding = bundle[1]
        if uploaded is not None:
            trajectory = uploaded
        else:
            spec = logic.resolve_rule(family, rule_text, rule_seed, logic.Knobs(n_states=encoding.get("n_states", 10)))
            seed = logic.as_int(init_seed, "initial-condition seed", 0, logic.MAX_SEED)
            config = nc.SimConfig(height=int(encoding.get("height", 12)), width=int(encoding.get("width", 12)),
                                  burn_in=10, frames=n_ctx + steps)
            trajectory = nc.rollout([spec], [seed], config, device="cpu")[0].numpy()
        result = logic.predict(bundle, trajectory, n_ctx, steps)
    except Exception as err:  # noqa: BLE001 — every failure becomes a message in the page
        return (*empty, _error(err))
    from nca_core import render

    scale = max(4, min(16, 192 // max(result.truth.shape[-2:])))
    ctx_image = logic.strip(result.context, result.n_states)
    compare = render.compare_image(result.truth, result.predicted, result.n_states, scale=scale)
    animation = logic.side_by_side_gif(result.truth, result.predicted, result.n_states)
    return ctx_image, compare, animation, result.table(), result.summary(), ""


# ------------------------------------------------------------------------------------------------- tasks
def run_tasks(model_name, family, index):
    """→ (results Markdown, report dict, context PNG, rollout PNG, rule-id PNG, reverse PNG, error Markdown)."""
    try:
        from space import tasks as task_demo
    except ImportError:
        import tasks as task_demo  # type: ignore[no-redef]
    try:
        row = logic.as_int(index, "example number", 1, 10**6) - 1
        bundle = logic.get_model(model_name)
        result = task_demo.run_all(bundle, row, family or "any")
    except Exception as err:  # noqa: BLE001 — every failure becomes a message in the page
        return "", None, None, None, None, None, _error(err)
    images = result["images"]
    return (task_demo.report_markdown(result), result["report"], images["context"], images["rollout"],
            images["rule_id"], images["reverse"], "")


# ------------------------------------------------------------------------------------------------- dataset
def run_dataset(source, config, split, index, count):
    """→ (gif path, strip PNG, labels dict, table of rows, error Markdown)."""
    try:
        start = logic.as_int(index, "row index", 0, 10**9)
        rows_wanted = logic.as_int(count, "rows to list", 1, 200)
        rows = logic.load_rows(source, config, split, start, rows_wanted)
        if not rows:
            raise ValueError(f"the split has no row {start}: choose a smaller index")
        frames, n = logic.row_frames(rows[0], logic.dataset_geometry(source))
    except Exception as err:  # noqa: BLE001 — every failure becomes a message in the page
        return None, None, None, None, _error(err)
    columns = [c for c in logic.LABEL_COLUMNS if c in rows[0]]
    table = {"headers": ["row", *columns],
             "data": [[start + i, *[_cell(r.get(c)) for c in columns]] for i, r in enumerate(rows)]}
    return logic.gif_file(frames, n, "row"), logic.strip(frames, n), _js_safe(logic.row_labels(rows[0])), table, ""


def pick_row(table, evt: gr.SelectData):
    """A click in the rows table shows that row (the table's first column holds the row number)."""
    try:
        return int(table.iloc[evt.index[0], 0]) if hasattr(table, "iloc") else int(table["data"][evt.index[0]][0])
    except (TypeError, ValueError, IndexError, KeyError):
        return gr.update()


def _js_safe(labels: dict) -> dict:
    """Integers beyond 2^53 (rule seeds) as strings: the browser's JSON view would round them."""
    return {k: str(v) if isinstance(v, int) and abs(v) > 2**53 else v for k, v in labels.items()}


def _cell(value):
    if isinstance(value, float | np.floating):
        return round(float(value), 4)
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


# ------------------------------------------------------------------------------------------------- layout
def build_app(model: str | None = None) -> gr.Blocks:
    """The demo's Blocks. ``model``: checkpoint folder or Hub id for Predict / Tasks (default: the bundled
    tiny checkpoint in space/checkpoint, if present)."""
    model = model or logic.default_model() or ""
    with gr.Blocks(title="NCA pre-pre-training demo") as demo:
        gr.Markdown(INTRO)
        with gr.Tab("Explore", id="explore"):
            with gr.Row():
                with gr.Column(scale=1):
                    family = gr.Dropdown(FAMILIES, value="neural", label="Rule family")
                    rule_seed = gr.Number(7, precision=0, label="Rule seed (draws a rule of the family)")
                    n_states = gr.Slider(2, 10, value=10, step=1, label="States (at most)")
                    with gr.Group(visible=True) as neural_knobs:
                        preset = gr.Dropdown(["paper", "fixed"], value="paper", label="Preset (neural)")
                        tau = gr.Number(1e-4, label="τ, sampling temperature (0 = argmax)")
                    with gr.Group(visible=False) as lifelike_knobs:
                        density = gr.Slider(0.0, 1.0, value=0.3, step=0.05, label="B/S density")
                        generations = gr.Slider(0.0, 1.0, value=0.3, step=0.05,
                                                label="Chance of a multi-state Generations rule")
                    with gr.Group(visible=False) as symbolic_knobs:
                        kind = gr.Dropdown(["any", "cyclic", "lookup"], value="any", label="Kind")
                        lam = gr.Slider(0.0, 1.0, value=0.4, step=0.05, label="Langton λ (lookup rules)")
                    with gr.Group(visible=False) as lenia_knobs:
                        lenia_manual = gr.Checkbox(False, label="Set Lenia's parameters here (else drawn from the seed)")
                        radius = gr.Slider(1, 5, value=3, step=1, label="Kernel radius")
                        mu = gr.Slider(0.0, 1.0, value=0.15, step=0.005, label="μ, growth centre")
                        sigma = gr.Slider(0.001, 0.3, value=0.017, step=0.001, label="σ, growth width")
                        lenia_dt = gr.Slider(0.01, 1.0, value=0.1, step=0.01, label="dt, time step")
                    with gr.Group(visible=False) as smooth_knobs:
                        smooth_manual = gr.Checkbox(False, label="Set SmoothLife's parameters here (else drawn from the seed)")
                        inner_radius = gr.Slider(1.0, 2.0, value=1.5, step=0.5, label="Inner radius")
                        with gr.Row():
                            b1 = gr.Number(0.278, label="birth b1")
                            b2 = gr.Number(0.365, label="birth b2")
                        with gr.Row():
                            d1 = gr.Number(0.267, label="survival d1")
                            d2 = gr.Number(0.445, label="survival d2")
                        smooth_dt = gr.Slider(0.01, 1.0, value=0.5, step=0.01, label="dt, time step")
                    rule_text = gr.Textbox(label="Or a rule spec (JSON, or B/S notation for lifelike)",
                                           placeholder='B3/S23   or   {"family": "lenia", "mu": 0.15, ...}')
                    with gr.Row():
                        init_seed = gr.Number(0, precision=0, label="Initial-condition seed")
                        size = gr.Number(24, precision=0, label="Grid size")
                    with gr.Row():
                        frames = gr.Number(27, precision=0, label="Frames")
                        burn_in = gr.Number(10, precision=0, label="Burn-in steps")
                    explore_btn = gr.Button("Run rule", variant="primary", elem_id="explore-run")
                with gr.Column(scale=2):
                    explore_err = gr.Markdown(elem_id="explore-error")
                    with gr.Row():
                        with gr.Column(scale=2, min_width=200):
                            gif = gr.Image(label="Rollout (animation)", type="filepath", format="gif",
                                           elem_id="explore-gif", height=300)
                        with gr.Column(scale=3):
                            labels_md = gr.Markdown(elem_id="explore-labels")
                    strip = gr.Image(label="Frames, left to right", format="png", type="pil",
                                     elem_id="explore-strip")
                    spec_box = gr.Textbox(label="Rule spec (reproduces this rule)", interactive=False)
                    labels_json = gr.JSON(label="All labels")
            family.change(knob_visibility, family,
                          [neural_knobs, lifelike_knobs, symbolic_knobs, lenia_knobs, smooth_knobs], api_name=False)
            explore_btn.click(
                run_explore,
                [family, rule_text, rule_seed, n_states, preset, tau, density, generations, kind, lam,
                 lenia_manual, radius, mu, sigma, lenia_dt, smooth_manual, inner_radius, b1, b2, d1, d2, smooth_dt,
                 init_seed, size, frames, burn_in],
                [gif, strip, labels_md, labels_json, spec_box, explore_err], api_name="explore")

        with gr.Tab("Predict", id="predict"):
            with gr.Row():
                with gr.Column(scale=1):
                    model_box = gr.Textbox(model, label="Model (checkpoint folder or Hub id)",
                                           elem_id="predict-model")
                    p_family = gr.Dropdown(FAMILIES, value="neural", label="Rule family")
                    p_rule = gr.Textbox(label="Or a rule spec (JSON / B/S); empty: draw one from the rule seed")
                    with gr.Row():
                        p_rule_seed = gr.Number(0, precision=0, label="Rule seed")
                        p_init_seed = gr.Number(0, precision=0, label="Initial-condition seed")
                    context = gr.Slider(1, 20, value=4, step=1, label="Frames the model sees")
                    horizon = gr.Slider(1, 12, value=4, step=1, label="Frames it predicts")
                    upload = gr.File(label="Or upload a trajectory (.npy / .txt / .json)", type="filepath",
                                     file_types=[".npy", ".txt", ".json"])
                    predict_btn = gr.Button("Predict", variant="primary", elem_id="predict-run")
                with gr.Column(scale=2):
                    predict_err = gr.Markdown(elem_id="predict-error")
                    summary = gr.Markdown(elem_id="predict-summary")
                    ctx_image = gr.Image(label="What the model sees", format="png", type="pil",
                                         elem_id="predict-context")
                    compare = gr.Image(label="Truth (top) vs prediction (bottom), wrong cells outlined in red",
                                       format="png", type="pil", elem_id="predict-compare")
                    with gr.Row():
                        p_gif = gr.Image(label="Step by step: truth (left) and prediction (right)", type="filepath",
                                         format="gif", elem_id="predict-gif", height=260)
                    accuracy = gr.Dataframe(headers=["step", "cell accuracy", "exact"], label="Per step",
                                            interactive=False)
            predict_btn.click(run_predict, [model_box, p_family, p_rule, p_rule_seed, p_init_seed, context,
                                            horizon, upload],
                              [ctx_image, compare, p_gif, accuracy, summary, predict_err], api_name="predict")

        with gr.Tab("Tasks", id="tasks"):
            gr.Markdown("One example of each evaluation task from the held-out task set (`nca-eval-v1` on the "
                        "model's grid), scored by `evaluate_metrics` exactly as `nca eval` scores it, next to "
                        "the baselines that make the number readable.")
            with gr.Row():
                t_model = gr.Textbox(model, label="Model (checkpoint folder or Hub id)")
                t_family = gr.Dropdown(["any", *FAMILIES], value="any", label="Family of the example's rule")
                t_index = gr.Number(1, precision=0, label="Example number")
            tasks_btn = gr.Button("Run the four tasks", variant="primary", elem_id="tasks-run")
            tasks_err = gr.Markdown(elem_id="tasks-error")
            with gr.Row():
                with gr.Column():
                    tasks_md = gr.Markdown(elem_id="tasks-result")
                with gr.Column():
                    t_context = gr.Image(label="Tasks 1–2: the context the model sees", format="png", type="pil")
                    t_rollout = gr.Image(label="Tasks 1–2: truth (top) vs the model's rollout (bottom)",
                                         format="png", type="pil", elem_id="tasks-rollout")
                    t_rule = gr.Image(label="Task 3: the query (top), then one demonstration per candidate rule",
                                      format="png", type="pil")
                    t_reverse = gr.Image(label="Task 4: the demonstration (top); the true initial and the given "
                                         "final grid (bottom)", format="png", type="pil")
            tasks_json = gr.JSON(label="Full report (model, baselines, breakdowns)")
            tasks_btn.click(run_tasks, [t_model, t_family, t_index],
                            [tasks_md, tasks_json, t_context, t_rollout, t_rule, t_reverse, tasks_err],
                            api_name="tasks")

        with gr.Tab("Dataset", id="dataset"):
            with gr.Row():
                source = gr.Textbox(label="Dataset folder or Hub id", placeholder="outputs/nca-tiny")
                config = gr.Textbox(label="Config (optional)")
                split = gr.Textbox("train", label="Split")
                index = gr.Number(0, precision=0, label="Row")
                count = gr.Number(10, precision=0, label="Rows to list")
            dataset_btn = gr.Button("Show", variant="primary", elem_id="dataset-run")
            dataset_err = gr.Markdown(elem_id="dataset-error")
            with gr.Row():
                d_gif = gr.Image(label="Row (animation)", type="filepath", format="gif", height=300)
                d_labels = gr.JSON(label="Labels of the row")
            d_strip = gr.Image(label="Frames", format="png", type="pil")
            d_table = gr.Dataframe(label="Rows", interactive=False)
            dataset_btn.click(run_dataset, [source, config, split, index, count],
                              [d_gif, d_strip, d_labels, d_table, dataset_err], api_name="dataset")
            d_table.select(pick_row, d_table, index, api_name=False).then(
                run_dataset, [source, config, split, index, count], [d_gif, d_strip, d_labels, d_table, dataset_err],
                api_name=False)
    return demo


if __name__ == "__main__":
    build_app().launch()
