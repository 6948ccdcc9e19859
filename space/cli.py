"""``nca demo``: open the Gradio demo locally, or write a folder ready to push as a Hugging Face Space."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

SPACE_DIR = Path(__file__).resolve().parent
PACKAGES = ("nca_core", "evaluate_metrics", "training", "dataset_builder")  # what the Space imports
SPACE_FILES = ("app.py", "logic.py", "tasks.py", "README.md", "requirements.txt")


def configure_demo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None,
                        help="checkpoint folder or Hub id for Predict / Tasks (default: the bundled tiny checkpoint)")
    parser.add_argument("--port", type=int, default=7860, help="port to serve on (default 7860)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0 to serve the network)")
    parser.add_argument("--export", metavar="DIR", default=None,
                        help="write a self-contained Space folder to DIR (push it with `hf upload`) instead of serving")


def run_demo(args: argparse.Namespace) -> int:
    if args.export:
        out = export_space(args.export)
        print(f"Space written to {out}: push it with `hf upload <user>/<space> {out} --repo-type space`")
        return 0
    if not 0 < args.port < 65536:
        raise ValueError(f"--port must be in 1..65535, got {args.port}")
    if args.model and args.model.startswith((".", "/", "~")) and not Path(args.model).expanduser().exists():
        raise FileNotFoundError(f"--model {args.model}: no such checkpoint folder")
    from space.app import build_app

    build_app(args.model).launch(server_name=args.host, server_port=args.port, show_error=True)
    return 0


def export_space(out_dir: str | Path) -> Path:
    """A folder that runs as a Gradio Space: app.py and its helpers at the top, the bundled checkpoint,
    and copies of the project packages it imports (so the Space needs nothing but requirements.txt)."""
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} exists and is not empty: choose a new folder")
    out.mkdir(parents=True, exist_ok=True)
    for name in SPACE_FILES:
        if (SPACE_DIR / name).is_file():
            shutil.copy2(SPACE_DIR / name, out / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    if (SPACE_DIR / "checkpoint").is_dir():
        shutil.copytree(SPACE_DIR / "checkpoint", out / "checkpoint", ignore=ignore)
    root = SPACE_DIR.parent
    for package in PACKAGES:
        if (root / package).is_dir():
            shutil.copytree(root / package, out / package, ignore=ignore)
    return out
