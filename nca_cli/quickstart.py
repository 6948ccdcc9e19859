"""``nca quickstart``: the whole pipeline on an embedded default, on CPU, in minutes.

    generate a small dataset (``tiny`` config) → train the ``tiny-cpu`` model on it → evaluate the four
    tasks on held-out rules beside the baselines → write a report (Markdown + PNG) → print where it all is.

Everything is seeded: a second run with the same ``--seed`` gives the same numbers.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

# The defaults: chosen so that the model beats copy-the-last-frame on held-out rules within ~10 minutes
# on 2 CPU cores (figures in README.md). --smoke shrinks everything for the end-to-end test.
DEFAULTS = {"num_sequences": 2400, "max_steps": 300, "num_examples": 48}
_COUNTS = {"num_examples", "num_malformed", "threshold", "horizon"}
SMOKE = {"num_sequences": 64, "max_steps": 6, "num_examples": 4}
RULES_PER_CELL = {"default": 16, "smoke": 2}  # held-out rules per (family, complexity band) of the task set


def configure_quickstart(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="quickstart_out", help="output folder (data, model, eval, report)")
    parser.add_argument("--seed", type=int, default=0, help="seed of data, training and evaluation")
    parser.add_argument("--num-sequences", type=int, help=f"training sequences (default {DEFAULTS['num_sequences']})")
    parser.add_argument("--max-steps", type=int, help=f"training steps (default {DEFAULTS['max_steps']})")
    parser.add_argument("--num-examples", type=int, help=f"examples per task (default {DEFAULTS['num_examples']})")
    parser.add_argument("--smoke", action="store_true", help="tiny settings that run in seconds (for tests)")


def run_quickstart(args: argparse.Namespace) -> int:
    settings = dict(SMOKE if args.smoke else DEFAULTS)
    for key in settings:
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
        if settings[key] < 1:
            raise ValueError(f"--{key.replace('_', '-')} must be >= 1, got {settings[key]}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    timings: dict[str, float] = {}

    from dataset_builder.configs import get_config
    from dataset_builder.materialise import materialise

    config = get_config("tiny", seed=args.seed)
    print(f"[1/4] generating {settings['num_sequences']} sequences of the '{config.name}' config → {out / 'data'}")
    t = time.time()
    manifest = materialise(config, out / "data", settings["num_sequences"], num_test=max(8, settings["num_examples"]),
                           device="cpu", command=f"nca quickstart --seed {args.seed}")
    timings["generate_s"] = time.time() - t

    print(f"[2/4] training the tiny-cpu model for {settings['max_steps']} steps → {out / 'model'}")
    from training.pretrain import main as pretrain

    t = time.time()
    pretrain(["--config", "tiny-cpu", "--dataset_name", str(out / "data"), "--output_dir", str(out / "model"),
              "--max_steps", str(settings["max_steps"]), "--seed", str(args.seed), "--data_seed", str(args.seed),
              "--save_strategy", "no", "--use_cpu", "true", "--logging_steps", str(max(1, settings["max_steps"] // 30))])
    timings["train_s"] = time.time() - t

    print(f"[3/4] evaluating on held-out {', '.join(config.families)} rules (four tasks + baselines) → {out / 'eval'}")
    from evaluate_metrics.harness import load_model, run_eval

    t = time.time()
    model, encoding = load_model(str(out / "model"), device="cpu")
    report = run_eval(None, model=model, encoding=encoding, num_examples=settings["num_examples"],
                      out_dir=out / "eval", device="cpu", families=tuple(config.families),
                      rules_per_cell=RULES_PER_CELL["smoke" if args.smoke else "default"])
    timings["eval_s"] = time.time() - t

    print(f"[4/4] writing the report → {out / 'report.md'}")
    summary = write_report(out, manifest, report, model, encoding, settings, timings, args.seed)
    timings["total_s"] = time.time() - started
    summary["timings"] = {k: round(v, 1) for k, v in timings.items()}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")

    ns = report["next_step"]
    copy = ns["baselines"]["copy_last_frame"]["cell_accuracy"]
    verdict = "beats" if ns["cell_accuracy"] > copy else "does NOT beat"
    print(f"\nnext-step cell accuracy on held-out rules: model {ns['cell_accuracy']:.3f} vs copy-last-frame "
          f"{copy:.3f} → the model {verdict} the baseline")
    print(f"done in {timings['total_s']:.0f} s. Everything is in {out}/:")
    for name in ("report.md", "summary.json", "loss_curve.png", "sample_predictions.png", "eval/report.json",
                 "eval/accuracy_vs_horizon.png", "model/", "data/"):
        print(f"  {out / name}")
    print(f"open the demo on this checkpoint:\n  nca demo --model {out / 'model'}")
    return 0


def write_report(out: Path, manifest: dict, report: dict, model, encoding: dict, settings: dict,
                 timings: dict, seed: int) -> dict:
    """report.md + loss_curve.png + sample_predictions.png; returns the summary dict."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    state = json.loads((out / "model" / "trainer_state.json").read_text())
    steps = [h["step"] for h in state["log_history"] if "loss" in h]
    losses = [h["loss"] for h in state["log_history"] if "loss" in h]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(steps, losses, marker="o", ms=3)
    ax.set(xlabel="step", ylabel="training loss (nats/token)", title="tiny-cpu on the tiny config")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "loss_curve.png", dpi=120)
    plt.close(fig)

    samples = sample_predictions(out, model, encoding)
    ns = report["next_step"]
    copy = ns["baselines"]["copy_last_frame"]["cell_accuracy"]
    beats = ns["cell_accuracy"] > copy
    lines = [
        "# NCA quickstart report", "",
        f"Seed {seed}. Data: `{manifest.get('config', {}).get('name', 'tiny')}` config, "
        f"{settings['num_sequences']} training sequences; model: `tiny-cpu` recipe, {settings['max_steps']} steps; "
        f"evaluation: {settings['num_examples']} examples per task on held-out rules.", "",
        f"**Next-step cell accuracy on held-out rules: model {ns['cell_accuracy']:.3f} vs copy-last-frame "
        f"{copy:.3f}** — the model {'beats' if beats else 'does not beat'} the baseline"
        + ("." if beats else " (train longer: `--max-steps`, `--num-sequences`)."), "",
        "## Training loss", "", "![loss](loss_curve.png)", "",
        f"Loss {losses[0]:.3f} at step {steps[0]} → {losses[-1]:.3f} at step {steps[-1]}." if losses else "", "",
        "## Evaluation on held-out rules (model beside the baselines)", "",
    ]
    for task, metrics in report.items():
        baselines = metrics.get("baselines", {})
        lines += [f"### {task} ({metrics.get('num_examples', '?')} examples)", "",
                  "| metric | model | " + " | ".join(baselines) + " |", "|---|---|" + "---|" * len(baselines)]
        for metric, value in metrics.items():
            if metric in _COUNTS or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            cells = [baselines[b].get(metric) for b in baselines]
            lines.append(f"| {metric} | {value:.3f} | "
                         + " | ".join("–" if not isinstance(v, (int, float)) else f"{v:.3f}" for v in cells) + " |")
        lines.append("")
    lines += ["", "![accuracy vs horizon](eval/accuracy_vs_horizon.png)", "",
              "## Sample predictions (top: truth, bottom: model; wrong cells outlined)", "",
              "![samples](sample_predictions.png)", "",
              "Full evaluation report: [eval/report.md](eval/report.md). Timings (s): "
              + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()), ""]
    (out / "report.md").write_text("\n".join(lines))
    return {"seed": seed, "settings": settings, "next_step_cell_accuracy": ns["cell_accuracy"],
            "copy_last_frame_cell_accuracy": copy, "beats_copy_last_frame": bool(beats),
            "final_loss": losses[-1] if losses else None, "sample_cell_accuracy": samples}


def sample_predictions(out: Path, model, encoding: dict, count: int = 3, context: int = 4) -> list[float]:
    """Predict the last frames of a few test-split sequences; save truth vs prediction as one PNG."""
    import datasets
    import numpy as np
    from PIL import Image

    from evaluate_metrics.harness import predict_frames
    from nca_core.render import compare_image
    from nca_core.tokens import PatchTokenizer

    tok = PatchTokenizer(encoding["n_states"], encoding["patch"], encoding["height"], encoding["width"])
    rows = datasets.load_dataset(str(out / "data"), split="test").select(range(count))
    frames = tok.decode(np.array(rows["input_ids"]), allow_partial=True).numpy()
    horizon = frames.shape[1] - context
    pred = predict_frames(model, encoding, frames[:, :context], horizon).numpy()
    truth = frames[:, context:]
    panels = [compare_image(truth[i], pred[i], tok.n_states, scale=12) for i in range(count)]
    canvas = Image.new("RGB", (panels[0].width, sum(p.height + 12 for p in panels)), (255, 255, 255))
    y = 0
    for panel in panels:
        canvas.paste(panel, (0, y))
        y += panel.height + 12
    canvas.save(out / "sample_predictions.png")
    return [float((truth[i] == pred[i]).mean()) for i in range(count)]
