"""``nca`` — the command line of the project.

Each subcommand lives beside the code it drives and is imported only when it runs, so ``nca --help``
starts fast (no transformers / evaluate / gradio import). A command module defines
``configure_<name>(parser)`` and ``run_<name>(args) -> int | None`` (dashes in names become underscores).
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name → (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "quickstart": ("nca_cli.quickstart", "generate → train → evaluate → report, end to end on CPU"),
    "simulate": ("nca_cli.core_commands", "roll out rules and save the trajectories as PNG / GIF"),
    "generate": ("dataset_builder.cli", "materialise a Hub-ready parquet dataset"),
    "preview": ("dataset_builder.cli", "a small JSONL + images of sample sequences"),
    "labels": ("dataset_builder.cli", "compute labels for an existing dataset"),
    "plot-labels": ("dataset_builder.cli", "plot label distributions of a dataset as PNG"),
    "visualize": ("dataset_builder.cli", "one sequence of a dataset as PNG / GIF"),
    "upload": ("dataset_builder.cli", "upload a materialised dataset folder to the Hub"),
    "train": ("training.cli", "train a model on NCA data (wraps training/pretrain.py)"),
    "eval": ("evaluate_metrics.cli", "evaluate a model on the four NCA tasks and write a report"),
    "study": ("training.study", "transfer study: scratch vs NCA vs text pre-pre-training"),
    "analyze": ("nca_cli.analyze", "report on the dynamics of a rule population or dataset"),
    "demo": ("space.cli", "open the Gradio demo"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nca", description="Neural cellular automata pre-training toolkit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        parser = build_parser()
        if argv and argv[0] not in ("-h", "--help"):
            parser.error(f"unknown command {argv[0]!r}; choose one of {', '.join(COMMANDS)}")
        parser.print_help()
        return 0
    name, rest = argv[0], argv[1:]
    module_name, help_text = COMMANDS[name]
    module = importlib.import_module(module_name)
    attr = name.replace("-", "_")
    parser = argparse.ArgumentParser(prog=f"nca {name}", description=help_text)
    getattr(module, f"configure_{attr}")(parser)
    args = parser.parse_args(rest)
    try:
        code = getattr(module, f"run_{attr}")(args)
    except (ValueError, FileNotFoundError, FileExistsError) as err:
        print(f"nca {name}: error: {err}", file=sys.stderr)
        return 2
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
