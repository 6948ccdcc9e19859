"""Benchmark: the evaluation harness's batched, KV-cached, constrained decoding against a naive loop that
calls ``model.generate`` once per example, on the same tiny random Qwen3 checkpoint and the same examples.

    python benchmarks/evaluation.py                      # 32 examples, 8 context frames, 2 generated frames
    python benchmarks/evaluation.py --num-examples 64 --horizon 4 --threads 2

Prints progress lines, then one JSON line (the last) with examples_per_s of both and their speedup.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np
import torch


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-examples", type=int, default=32)
    parser.add_argument("--context-frames", type=int, default=8)
    parser.add_argument("--horizon", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    from evaluate_metrics import harness
    from evaluate_metrics.tasks import build_task_set, get_task_set_spec
    from evaluate_metrics.tiny import make_tiny_model

    with tempfile.TemporaryDirectory() as tmp:
        path = make_tiny_model(tmp, "patch", hidden=args.hidden, layers=args.layers)
        model, encoding = harness.load_model(str(path), device=args.device)
    spec = get_task_set_spec(rules_per_cell=max(1, -(-args.num_examples // 15)), context_frames=args.context_frames,
                             horizon=args.horizon)
    examples = build_task_set(spec=spec).examples["long_horizon"][: args.num_examples]
    context = np.stack([e["context"] for e in examples])
    n = len(context)
    print(f"{n} examples, {args.context_frames} context frames, {args.horizon} generated frames, "
          f"{torch.get_num_threads()} threads, device {args.device}")

    harness.predict_frames(model, encoding, context[:2], 1)  # warm-up
    t0 = time.perf_counter()
    fast = harness.predict_frames(model, encoding, context, args.horizon, batch_size=args.batch_size)
    t_harness = time.perf_counter() - t0
    print(f"harness (batched, KV cache, constrained): {t_harness:.2f} s")

    layout = harness.frame_layout(encoding)
    prompts = layout.encode(context)
    new_tokens = args.horizon * layout.tokens_per_frame
    device = next(model.parameters()).device
    t0 = time.perf_counter()
    outputs = []
    with torch.no_grad():
        for i in range(n):
            outputs.append(model.generate(prompts[i : i + 1].to(device), max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                                          do_sample=False, pad_token_id=0))
    t_naive = time.perf_counter() - t0
    print(f"naive per-example model.generate: {t_naive:.2f} s")
    result = {"benchmark": "evaluation", "num_examples": n, "horizon_frames": args.horizon,
              "tokens_per_example": new_tokens, "threads": torch.get_num_threads(), "device": args.device,
              "examples_per_s": {"harness": round(n / t_harness, 3), "naive_generate": round(n / t_naive, 3)},
              "harness_examples_per_s": round(n / t_harness, 3), "naive_examples_per_s": round(n / t_naive, 3),
              "speedup": round(t_naive / t_harness, 2), "predicted_shape": list(fast.shape)}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
