"""Generation speed of the paper configuration (12×12, 10 states, 27 frames, 1,024 tokens per sequence).

    python benchmarks/generation.py [--device auto|cpu|cuda] [--batch 512] [--seconds 10] [--compile]

Prints figures and, last, one JSON line with tokens_per_s (simulate + tokenise, steady state),
rules_scored_per_s (the reference gzip score, including its separate rollout) and device.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch

import nca_core as nc
from nca_core.complexity import score_rules
from nca_core.tokens import REFERENCE, REFERENCE_SEQ_LEN


def timed(fn, seconds: float) -> tuple[int, float]:
    """Run ``fn`` (returns units of work) once to warm up, then repeatedly for about ``seconds``."""
    fn(0)
    done, start, i = 0, time.perf_counter(), 1
    while time.perf_counter() - start < seconds:
        done += fn(i)
        i += 1
    return done, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--compile", action="store_true", help="NCA_COMPILE=1: torch.compile the neural fast path")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    if args.compile:
        os.environ["NCA_COMPILE"] = "1"
    device = nc.resolve_device(args.device)
    batch = args.batch

    def generate(i: int) -> int:
        specs = nc.sample_rules("neural", batch, seed=1000 + i)
        frames = nc.rollout(specs, range(i * batch, (i + 1) * batch), device=device)
        ids = REFERENCE.encode(frames, max_tokens=REFERENCE_SEQ_LEN).to(torch.int32).cpu()
        return ids.numel()

    def score(i: int) -> int:
        specs = nc.sample_rules("neural", batch, seed=5000 + i)
        score_rules(specs, range(i * batch, (i + 1) * batch), device=device)
        return batch

    tokens, t_tok = timed(generate, args.seconds)
    rules, t_score = timed(score, args.seconds)
    result = {
        "benchmark": "generation",
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "batch": batch,
        "compiled": bool(args.compile),
        "tokens_per_s": round(tokens / t_tok),
        "sequences_per_s": round(tokens / REFERENCE_SEQ_LEN / t_tok, 1),
        "rules_scored_per_s": round(rules / t_score, 1),
    }
    print(f"simulate + tokenise: {result['tokens_per_s']:,} tokens/s ({result['sequences_per_s']:,} sequences/s)")
    print(f"reference gzip scoring: {result['rules_scored_per_s']:,} rules/s")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
