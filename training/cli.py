"""``nca train``: run a training recipe (a thin wrapper over ``training/pretrain.py``).

    nca train --config tiny-cpu --output_dir runs/tiny --max_steps 300
    nca train --config qwen-tokens --use_peft --lora_r 16

Every flag after the recipe is passed to the script unchanged (any ``SFTConfig`` / ``ModelConfig`` /
``NCAArguments`` field). For several processes use ``accelerate launch training/pretrain.py …`` instead.
"""

from __future__ import annotations

import argparse


def configure_train(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default="tiny-cpu",
                        help="recipe name (tiny-cpu, qwen-text, qwen-tokens, paper-stage1) or a YAML path")
    parser.add_argument("--list-recipes", action="store_true", help="print the recipe names and exit")
    parser.epilog = ("Any further --key value is passed to training/pretrain.py, e.g. --max_steps 50 "
                     "--output_dir runs/x --use_peft (see `python training/pretrain.py --help`).")

    def parse_args(args=None, namespace=None):  # keep unknown flags for the training script
        known, rest = parser.parse_known_args(args, namespace)
        known.rest = rest
        return known

    parser.parse_args = parse_args


def run_train(args: argparse.Namespace) -> int:
    from training.pretrain import RECIPES_DIR, main

    if args.list_recipes:
        for path in sorted(RECIPES_DIR.glob("*.yaml")):
            print(path.stem)
        return 0
    rest = [a for a in getattr(args, "rest", []) if a != "--"]
    out = main(["--config", args.config, *rest])
    print(f"saved to {out}")
    return 0
