"""``nca eval``: evaluate a model on the four NCA tasks and write a report.

    nca eval --model runs/tiny --tasks next_step,long_horizon,rule_id,reverse --num-examples 32 --out eval_out
    nca eval --baselines-only --out eval_baselines          # the baselines alone, no model
    nca eval --export-tasks nca-eval-v1_data                # the task set as a dataset folder (parquet + card)
"""

from __future__ import annotations

import argparse
import json

from .tasks import TASKS


def configure_eval(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="checkpoint folder written by `nca train`, or a Hub model id")
    parser.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated subset of {','.join(TASKS)}")
    parser.add_argument("--num-examples", type=int, default=None, help="examples per task (default: the whole set)")
    parser.add_argument("--out", default=None, help="folder for report.json, report.md and plots")
    parser.add_argument("--task-set", default="nca-eval-v1", help="name of the versioned held-out task set")
    parser.add_argument("--rules-per-cell", type=int, default=None,
                        help="rules per (family, complexity band) in the task set (default: the set's own)")
    parser.add_argument("--families", default=None,
                        help="comma-separated rule families to evaluate on (default: every family)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, …")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for torch (default: torch's choice; 1 is fastest on a busy machine)")
    parser.add_argument("--baselines-only", action="store_true", help="no model: compute the baselines only")
    parser.add_argument("--export-tasks", metavar="DIR", default=None,
                        help="also write the task set as a dataset folder (parquet + card) to DIR")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")


def run_eval(args: argparse.Namespace) -> int:
    from .tasks import build_task_set, export_task_set, get_task_set_spec

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    families = tuple(f.strip() for f in args.families.split(",") if f.strip()) if args.families else None
    if args.export_tasks:
        spec = get_task_set_spec(args.task_set, rules_per_cell=args.rules_per_cell, families=families)
        if args.model:
            from .harness import read_encoding

            spec = spec.for_model(read_encoding(args.model))
        path = export_task_set(build_task_set(spec=spec, device=args.device), args.export_tasks)
        print(f"task set {spec.label} written to {path} (load with datasets.load_dataset('{path}', 'rule_id'))")
        if not args.model and not args.baselines_only:
            return 0
    if not args.model and not args.baselines_only:
        raise ValueError("give --model PATH_OR_HUB_ID (or --baselines-only, or --export-tasks DIR)")
    from .harness import run_eval as evaluate_model

    report = evaluate_model(None if args.baselines_only else args.model, args.tasks, args.num_examples, args.out,
                            task_set=args.task_set, batch_size=args.batch_size, device=args.device,
                            plots=not args.no_plots, rules_per_cell=args.rules_per_cell, families=families)
    summary = {}
    for task, res in report.items():
        from .report import HEADLINE

        key = HEADLINE[task]
        summary[task] = {"model": res.get(key), **{name: b.get(key) for name, b in res["baselines"].items()}}
        print(f"{task:13s} {key:22s} " + "  ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
                                                    for k, v in summary[task].items()))
    if args.out:
        print(f"report written to {args.out}/report.md")
    else:
        print(json.dumps(summary))
    return 0
