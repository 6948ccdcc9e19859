"""``nca simulate``: roll out rules of any family and save them as PNG strips and GIFs with their labels."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import nca_core as nc
from nca_core import labels, render
from nca_core.complexity import score_rules


def configure_simulate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--family", default="neural", help=f"one of {', '.join(sorted(nc.FAMILIES))}")
    parser.add_argument("--spec", help='a rule spec as JSON, e.g. \'{"family": "lifelike", "rule": "B3/S23"}\'')
    parser.add_argument("--num-rules", type=int, default=4, help="how many random rules of --family")
    parser.add_argument("--seed", type=int, default=0, help="seed of the rule draw and of the initial grids")
    parser.add_argument("--states", type=int, default=10, help="state alphabet size")
    parser.add_argument("--grid", type=int, default=12, help="grid side")
    parser.add_argument("--frames", type=int, default=27)
    parser.add_argument("--burn-in", type=int, default=10)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default="outputs/simulate", help="output folder")


def run_simulate(args: argparse.Namespace) -> int:
    if args.num_rules < 1:
        raise ValueError(f"--num-rules must be >= 1, got {args.num_rules}")
    specs = [nc.validate_spec(args.spec)] if args.spec else nc.sample_rules(args.family, args.num_rules, args.seed, args.states)
    seeds = [args.seed * 1000 + i for i in range(len(specs))]
    config = nc.SimConfig(args.grid, args.grid, args.burn_in, args.frames)
    frames = nc.rollout(specs, seeds, config, device=args.device).cpu()
    n_states = max(args.states, max(nc.get_family(s["family"]).num_states(nc.validate_spec(s)) for s in specs))
    scores = score_rules(specs, seeds, device=args.device, n_states=n_states) if n_states ** 4 < 2**31 else None
    rows = labels.sequence_labels(specs, seeds, frames, n_states, scores)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for i, row in enumerate(rows):
        render.save_png(frames[i], out / f"rule{i}.png", n_states, scale=8, columns=9)
        render.save_gif(frames[i], out / f"rule{i}.gif", n_states, scale=16)
        print(f"rule {i}: {row['rule_spec']}\n  complexity {row['complexity']:.3f} ({row['complexity_scale']}), "
              f"entropy {row['entropy']:.2f} bits, activity {row['activity']:.2f}, period {row['period']}")
    (out / "labels.json").write_text(json.dumps(rows, indent=2))
    print(f"wrote {len(rows)} rollouts (PNG + GIF) and labels.json to {out}")
    return 0
