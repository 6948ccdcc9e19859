"""Evaluate a checkpoint on next-frame prediction of unseen rules.

    python examples/stream_train.py --save ckpt/tiny-nca && python examples/evaluate_checkpoint.py ckpt/tiny-nca
    python examples/evaluate_checkpoint.py ckpt/tiny-nca --num-examples 64 --context-frames 4
    nca eval ckpt/tiny-nca                        # the full harness: four tasks, report, per-family tables

The checkpoint folder holds the HF model and ``nca_encoding.json`` (token layout). With ``--harness`` (the
default when ``evaluate_metrics.harness`` is installed) this calls ``evaluate_metrics.harness.run_eval``;
otherwise it does the work in the open, in a few lines: draw rules of the checkpoint's data config with
``nca_core``, roll them out, give the model the first frames as patch tokens, decode the next frame
greedily with the output restricted to patch ids, and score it against the true frame with the pure
metric function ``evaluate_metrics.scoring.next_step_scores`` (exact match, cell accuracy, macro-F1).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import numpy as np
import torch

import nca_core as nc
from nca_core.tokens import PatchTokenizer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint", help="a checkpoint folder with nca_encoding.json")
    p.add_argument("--num-examples", type=int, default=16)
    p.add_argument("--context-frames", type=int, default=3, help="frames shown before the one to predict")
    p.add_argument("--seed", type=int, default=12345, help="seed of the evaluation rules (not the training seed)")
    p.add_argument("--device", default="auto")
    p.add_argument("--out", default=None, help="folder for the harness report (harness mode)")
    harness = p.add_mutually_exclusive_group()
    harness.add_argument("--harness", dest="harness", action="store_true", default=None,
                         help="use evaluate_metrics.harness.run_eval (default when it exists)")
    harness.add_argument("--no-harness", dest="harness", action="store_false", help="the few-line version below")
    return p.parse_args(argv)


def harness_available() -> bool:
    try:
        return importlib.util.find_spec("evaluate_metrics.harness") is not None
    except ImportError:
        return False


@torch.no_grad()
def predict_next_frame(model, tok: PatchTokenizer, offset: int, context: np.ndarray) -> np.ndarray:
    """Greedy next frame of each context (B, N, H, W) → (B, H, W); only patch ids may be emitted."""
    device = next(model.parameters()).device
    ids = tok.encode(torch.as_tensor(context)) + offset  # (B, N·tokens_per_frame)
    start = torch.full((len(ids), 1), tok.frame_start + offset)
    out = model(input_ids=torch.cat([ids, start], 1).to(device), use_cache=True)
    logits, patches = out.logits[:, -1], []
    for _ in range(tok.patches_per_frame):
        nxt = logits[:, offset : offset + tok.num_patch_ids].argmax(-1)  # patch id, before the offset
        patches.append(nxt)
        out = model(input_ids=(nxt + offset)[:, None], use_cache=True, **_cache_of(out))
        logits = out.logits[:, -1]
    return tok.frames_from_patch_ids(torch.stack(patches, 1).cpu()).numpy()


def _cache_of(out) -> dict:
    """The KV cache to pass back: transformers ≥ 5.25 names it ``cache``, earlier ``past_key_values``."""
    return {"cache": out["cache"]} if "cache" in out else {"past_key_values": out.past_key_values}


def evaluate_in_the_open(args: argparse.Namespace) -> dict:
    from transformers import AutoModelForCausalLM

    from evaluate_metrics.scoring import next_step_scores

    enc = json.loads((Path(args.checkpoint) / "nca_encoding.json").read_text())
    if enc["encoding"] != "patch":
        raise SystemExit(f"this example decodes patch-token checkpoints; {args.checkpoint} uses the "
                         f"{enc['encoding']!r} encoding: run `nca eval {args.checkpoint}` instead")
    tok = PatchTokenizer(enc["n_states"], enc["patch"], enc["height"], enc["width"])
    data = enc.get("data_config") or {}
    families = data.get("families") or ["neural"]
    device = nc.resolve_device(args.device)
    model = AutoModelForCausalLM.from_pretrained(args.checkpoint).to(device).eval()
    specs = [s for i, fam in enumerate(families) for s in nc.sample_rules(
        fam, -(-args.num_examples // len(families)), seed=args.seed + i, n_states=enc["n_states"],
        **(data.get("family_knobs") or {}).get(fam, {}))][: args.num_examples]
    sim = nc.SimConfig(enc["height"], enc["width"], burn_in=data.get("burn_in", 10), frames=args.context_frames + 1)
    frames = nc.rollout(specs, [args.seed + i for i in range(len(specs))], sim, device=device).cpu().numpy()
    pred = predict_next_frame(model, tok, int(enc["token_offset"]), frames[:, :-1])
    copy_last = next_step_scores(list(frames[:, -2]), list(frames[:, -1]), n_states=enc["n_states"])
    model_scores = next_step_scores(list(pred), list(frames[:, -1]), n_states=enc["n_states"],
                                    groups=[s["family"] for s in specs])
    return {"next_step": model_scores, "baseline_copy_last_frame": copy_last}


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if not (Path(args.checkpoint) / "nca_encoding.json").exists():
        raise SystemExit(f"{args.checkpoint} has no nca_encoding.json: give a checkpoint saved by `nca train` "
                         "or examples/stream_train.py --save")
    use_harness = harness_available() if args.harness is None else args.harness
    if use_harness:
        from evaluate_metrics.harness import run_eval

        report = run_eval(args.checkpoint, tasks=["next_step"], num_examples=args.num_examples,
                          out_dir=args.out or str(Path(args.checkpoint) / "eval"))
    else:
        report = evaluate_in_the_open(args)
    print(json.dumps(headline(report), indent=1, default=str))
    return report


def headline(report: dict) -> dict:
    """The top-level numbers of each task (not the per-family / per-band / baseline breakdowns)."""
    out = {}
    for task, value in report.items():
        if isinstance(value, dict):
            out[task] = {k: v for k, v in value.items() if not isinstance(v, (dict, list))}
        elif not isinstance(value, list):
            out[task] = value
    return out


if __name__ == "__main__":
    main()
