"""Materialise a sample of a config end to end — rule sampling and scoring, simulation, tokens, filters,
labels, cross-shard dedup, parquet, card — and report throughput and disk use.

    python benchmarks/materialise.py                              # 20,000 paper sequences, 2 processes
    python benchmarks/materialise.py --num-sequences 2000 --num-proc 1 --threads 2

The last line is JSON: sequences_per_s, bytes_per_sequence, projected hours and GB for 5,000,000 rows.
A single-process profile of one shard (seconds per stage) is printed first unless --no-profile.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import torch
import yaml

from dataset_builder.configs import get_config
from dataset_builder.generate import ShardGenerator
from dataset_builder.materialise import materialise

TARGET_ROWS = 5_000_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="paper")
    parser.add_argument("--num-sequences", type=int, default=20_000)
    parser.add_argument("--num-proc", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--shard-size", type=int, default=2_000)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default=None, help="keep the dataset here (default: a temporary folder)")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", dest="sets",
                        help="config override, e.g. --set sequences_per_rule=4")
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    sets = {}
    for pair in args.sets or []:
        key, value = pair.split("=", 1)
        sets[key] = yaml.safe_load(value)
    config = get_config(args.config, shard_size=args.shard_size, **sets)
    if not args.no_profile:
        gen = ShardGenerator(config, "train", 10_000, min(args.shard_size, 1000), device=args.device)
        t0 = time.perf_counter()
        n = sum(1 for _ in gen.rows())
        dt = time.perf_counter() - t0
        print(f"profile: one process, {torch.get_num_threads()} thread(s), {n} rows in {dt:.1f} s "
              f"({n / dt:.0f} rows/s); filters {gen.stats.counts}")
        for stage, sec in sorted(gen.timings.items(), key=lambda kv: -kv[1]):
            print(f"  {stage:22s} {sec:7.2f} s  {100 * sec / dt:5.1f} %")

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="nca-bench-")) / "ds"
    t0 = time.perf_counter()
    manifest = materialise(config, out, args.num_sequences, num_proc=args.num_proc, device=args.device,
                           command="benchmarks/materialise.py", progress=True)
    wall = time.perf_counter() - t0
    rows = manifest["total_rows"]
    data_bytes = sum(f["bytes"] for f in manifest["files"])
    per_s = rows / wall
    result = {
        "config": config.name, "rows": rows, "num_proc": args.num_proc, "threads_per_proc": args.threads,
        "wall_s": round(wall, 2), "sequences_per_s": round(per_s, 1),
        "tokens_per_s": round(per_s * config.sequence_length),
        "bytes_per_sequence": round(data_bytes / rows, 1),
        "projected_hours_5M": round(TARGET_ROWS / per_s / 3600, 2),
        "projected_gb_5M": round(TARGET_ROWS * data_bytes / rows / 1e9, 2),
        "filters": manifest["filters"]["train"],
    }
    print(f"{rows:,} {config.name} sequences in {wall:.1f} s = {per_s:.0f} sequences/s "
          f"({result['tokens_per_s']:,} tokens/s); {data_bytes / rows:.0f} bytes/sequence on disk; "
          f"5M sequences: {result['projected_hours_5M']} h, {result['projected_gb_5M']} GB")
    if not args.out:
        shutil.rmtree(out.parent, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
