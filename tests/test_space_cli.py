"""`nca demo`: argument handling, and `--export` writing a Space folder that runs without the repo."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from space.cli import configure_demo, run_demo

SPACE = Path(__file__).resolve().parent.parent / "space"


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    configure_demo(parser)
    return parser.parse_args(list(argv))


def test_demo_arguments():
    args = parse("--model", "runs/x", "--port", "7999")
    assert (args.model, args.port, args.host, args.export) == ("runs/x", 7999, "127.0.0.1", None)


def test_demo_refuses_a_missing_model_folder_and_a_bad_port(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such checkpoint folder"):
        run_demo(parse("--model", str(tmp_path / "missing")))
    with pytest.raises(ValueError, match="--port"):
        run_demo(parse("--port", "70000"))


def test_nca_demo_is_wired_into_the_cli():
    out = subprocess.run([sys.executable, "-m", "nca_cli.main", "demo", "--help"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and "--model" in out.stdout and "--export" in out.stdout


def test_space_card_has_the_space_header():
    card = (SPACE / "README.md").read_text()
    header = card.split("---")[1]
    for line in ("sdk: gradio", "app_file: app.py"):
        assert line in header
    requirements = (SPACE / "requirements.txt").read_text()
    assert "transformers" in requirements and "datasets" in requirements


def test_export_writes_a_space_that_imports_without_the_repo(tmp_path):
    out = tmp_path / "space_out"
    assert run_demo(parse("--export", str(out))) == 0
    for name in ("app.py", "logic.py", "tasks.py", "README.md", "requirements.txt", "nca_core/__init__.py",
                 "evaluate_metrics/harness.py"):
        assert (out / name).is_file(), name
    # as on a Space: no `space` package, the app's helpers come from the folder itself
    probe = ("import sys; sys.modules['space'] = None; sys.path.insert(0, '.'); import app; "
             "print(app.logic.__file__); print(type(app.build_app()).__name__)")
    res = subprocess.run([sys.executable, "-c", probe], cwd=out, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    lines = res.stdout.strip().splitlines()
    assert Path(lines[-2]).resolve() == (out / "logic.py").resolve() and lines[-1] == "Blocks"
    with pytest.raises(FileExistsError):
        run_demo(parse("--export", str(out)))
