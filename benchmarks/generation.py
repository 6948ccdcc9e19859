"""Generation speed of the paper configuration (12×12, 10 states, 27 frames, 1,024 tokens per sequence).

    python benchmarks/generation.py [--device auto|cpu|cuda] [--workers N] [--batch 512] [--seconds 10]
                                    [--cpu-kernel numba|torch] [--compile]

On CPU, ``--workers`` processes (default: one per core), each simulating single-threaded, run side by
side; the figures are their sum. Neural rules run the fused numba kernel on CPU (``--cpu-kernel torch``:
the torch step, for comparison); ``--compile`` torch.compiles the torch step (GPU, or with
``--cpu-kernel torch``). Prints figures and, last, one JSON line with tokens_per_s (sample
rules + simulate + tokenise, steady state), rules_scored_per_s (the reference gzip score, including its
separate rollout) and device.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
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


def worker(job: tuple) -> dict:
    kind, rank, device, batch, seconds, compile_, cpu_kernel = job
    os.environ["NCA_CPU_KERNEL"] = cpu_kernel
    if compile_:
        os.environ["NCA_COMPILE"] = "1"
    torch.set_num_threads(1)
    base = 1_000_000 * (rank + 1)

    def generate(i: int) -> int:
        specs = nc.sample_rules("neural", batch, seed=base + i)
        frames = nc.rollout(specs, range(i * batch, (i + 1) * batch), device=device)
        return REFERENCE.encode(frames, max_tokens=REFERENCE_SEQ_LEN).to(torch.int32).cpu().numel()

    def score(i: int) -> int:
        specs = nc.sample_rules("neural", batch, seed=base + 500_000 + i)
        score_rules(specs, range(i * batch, (i + 1) * batch), device=device)
        return batch

    done, elapsed = timed(generate if kind == "tokens" else score, seconds)
    return {"done": done, "seconds": elapsed}


def run(kind: str, workers: int, device: str, batch: int, seconds: float, compile_: bool, cpu_kernel: str) -> float:
    jobs = [(kind, r, device, batch, seconds, compile_, cpu_kernel) for r in range(workers)]
    if workers == 1:
        return sum(r["done"] / r["seconds"] for r in map(worker, jobs))
    with mp.get_context("spawn").Pool(workers) as pool:
        return sum(r["done"] / r["seconds"] for r in pool.map(worker, jobs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--workers", type=int, default=None, help="CPU processes (default: one per core)")
    parser.add_argument("--batch", type=int, default=None, help="rules per call (default 512 CPU, 16384 GPU)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--compile", action="store_true", help="NCA_COMPILE=1: torch.compile the torch step")
    parser.add_argument("--cpu-kernel", choices=("numba", "torch"), default="numba",
                        help="NCA_CPU_KERNEL: how neural rules run on CPU")
    args = parser.parse_args()
    device = nc.resolve_device(args.device)
    gpu = device.type == "cuda"
    workers = 1 if gpu else (args.workers or os.cpu_count() or 1)
    batch = args.batch or (16384 if gpu else 512)
    opts = (args.seconds, args.compile, args.cpu_kernel)
    tokens_per_s = run("tokens", workers, str(device), batch, *opts)
    rules_per_s = run("score", workers, str(device), batch, *opts)
    result = {
        "benchmark": "generation",
        "device": torch.cuda.get_device_name(device) if gpu else "cpu",
        "workers": workers,
        "cpu_count": os.cpu_count(),
        "batch": batch,
        "cpu_kernel": None if gpu else args.cpu_kernel,
        "compiled": bool(args.compile),
        "tokens_per_s": round(tokens_per_s),
        "sequences_per_s": round(tokens_per_s / REFERENCE_SEQ_LEN, 1),
        "rules_scored_per_s": round(rules_per_s, 1),
    }
    print(f"simulate + tokenise: {result['tokens_per_s']:,} tokens/s ({result['sequences_per_s']:,} sequences/s)")
    print(f"reference gzip scoring: {result['rules_scored_per_s']:,} rules/s")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
