"""``nca generate | preview | labels | plot-labels | visualize | upload``.

    nca generate --config paper --num-sequences 5000000 --out data/nca-paper --num-proc 8
    nca generate --config paper --num-sequences 5000000 --out /shared/nca --shard-index $SLURM_ARRAY_TASK_ID --num-shards 64
    nca generate --config paper --num-sequences 5000000 --out /shared/nca      # afterwards: checks, dedup, card
    nca preview --config tiny --num 8 --out preview/
    nca labels data/nca-paper --out labels.jsonl
    nca plot-labels data/nca-paper --out labels.png
    nca visualize data/nca-paper --index 3 --out seq.gif
    nca upload data/nca-paper --repo-id me/nca-paper --dry-run
"""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .configs import config_names, get_config


# --------------------------------------------------------------------------------------------- helpers
def _parse_sets(pairs: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ValueError(f"--set takes KEY=VALUE (e.g. --set frames=10), got {pair!r}")
        key, value = pair.split("=", 1)
        key = key.strip().replace("-", "_")
        if key in out:
            raise ValueError(f"--set {key} given twice")
        parsed = yaml.safe_load(value)
        out[key] = tuple(parsed) if isinstance(parsed, list) else parsed
    return out


def _add_config_args(parser: argparse.ArgumentParser, default: str | None = "paper") -> None:
    parser.add_argument("--config", default=default, help=f"data config: {', '.join(config_names())}")
    parser.add_argument("--seed", type=int, default=None, help="base seed of the dataset (default: the config's, 0)")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", dest="sets",
                        help="override a config field, e.g. --set frames=10 --set band=[0.3,0.4] (repeatable)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="simulation device")


def _config_from_args(args: argparse.Namespace):
    sets = _parse_sets(args.sets)
    if args.seed is not None:
        if "seed" in sets and sets["seed"] != args.seed:
            raise ValueError(f"contradicting overrides: --seed {args.seed} and --set seed={sets['seed']}")
        sets["seed"] = args.seed
    return get_config(args.config, **sets)


def _rows_of(data: str, split: str, limit: int | None = None, columns: list[str] | None = None) -> list[dict]:
    """Rows of a materialised folder, a parquet/jsonl file, or anything ``datasets.load_dataset`` reads."""
    path = Path(data)
    if path.is_file() and path.suffix == ".jsonl":
        rows = []
        with open(path) as f:
            for line in f:
                if line.strip():
                    rows.append(json.loads(line))
                    if limit is not None and len(rows) >= limit:
                        break
        return rows
    if path.is_file() and path.suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path, columns=columns)
        return table.slice(0, limit).to_pylist() if limit is not None else table.to_pylist()
    if path.is_dir() and list(path.glob(f"data/{split}-*.parquet")):
        import pyarrow.parquet as pq

        rows = []
        for f in sorted(path.glob(f"data/{split}-*.parquet")):
            table = pq.read_table(f, columns=columns)
            need = None if limit is None else limit - len(rows)
            rows.extend(table.slice(0, need).to_pylist() if need is not None else table.to_pylist())
            if limit is not None and len(rows) >= limit:
                break
        return rows
    if path.exists() and not path.is_dir():
        raise ValueError(f"{data}: expected a dataset folder, a .parquet or a .jsonl file")
    import datasets

    try:
        ds = datasets.load_dataset(data, split=split, streaming=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"{data}: no such dataset folder, file or Hub dataset") from None
    rows = []
    for row in ds:
        rows.append(row if columns is None else {c: row[c] for c in columns if c in row})
        if limit is not None and len(rows) >= limit:
            break
    return rows


def _tokenizer_for(data: str, config_name: str | None):
    """The patch tokenizer of a dataset: from --config, else the folder's manifest, else inferred."""
    from nca_core.tokens import PatchTokenizer

    if config_name:
        return get_config(config_name).tokenizer
    manifest = Path(data) / "manifest.json"
    if manifest.exists():
        cfg = json.loads(manifest.read_text())["config"]
        return PatchTokenizer(cfg["n_states"], cfg["patch"], cfg["height"], cfg["width"])
    record = Path(data) / ".nca" / "dataset.json"
    if record.exists():
        cfg = json.loads(record.read_text())["config"]
        return PatchTokenizer(cfg["n_states"], cfg["patch"], cfg["height"], cfg["width"])
    raise ValueError(f"cannot tell the token layout of {data}: pass --config NAME (e.g. --config paper)")


# --------------------------------------------------------------------------------------------- generate
def configure_generate(parser: argparse.ArgumentParser) -> None:
    _add_config_args(parser)
    parser.add_argument("--num-sequences", type=int, required=True, help="rows of the train split")
    parser.add_argument("--num-validation", type=int, default=0, help="rows of the validation split (disjoint rules)")
    parser.add_argument("--num-test", type=int, default=0, help="rows of the test split (disjoint rules)")
    parser.add_argument("--out", required=True, help="output folder (created; resumed when it holds this dataset)")
    parser.add_argument("--num-proc", type=int, default=1, help="worker processes (output is identical for any)")
    parser.add_argument("--shard-index", type=int, default=0, help="this machine's part, 0..num-shards-1")
    parser.add_argument("--num-shards", type=int, default=1, help="how many machines split the work")
    parser.add_argument("--shard-size", type=int, default=None, help="rows per parquet shard (default: config's)")
    parser.add_argument("--repair", action="store_true", help="regenerate shards whose checksum does not match")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def generate_command(args: argparse.Namespace) -> str:
    """The command that reproduces the data, without what only decides who computes it (--num-proc, --shard-*,
    --device, --quiet): the card and manifest are then identical however the folder was made."""
    parts = ["nca", "generate", "--config", args.config, "--num-sequences", str(args.num_sequences)]
    for flag, value in (("--num-validation", args.num_validation), ("--num-test", args.num_test)):
        if value:
            parts += [flag, str(value)]
    if args.seed is not None:
        parts += ["--seed", str(args.seed)]
    for pair in args.sets or []:
        parts += ["--set", pair]
    return " ".join(shlex.quote(p) for p in parts) + " --out <this folder>"


def run_generate(args: argparse.Namespace) -> int:
    from .materialise import materialise

    if args.shard_size is not None:
        args.sets = (args.sets or []) + [f"shard_size={args.shard_size}"]
    config = _config_from_args(args)
    command = generate_command(args)
    result = materialise(config, args.out, args.num_sequences, num_validation=args.num_validation,
                         num_test=args.num_test, num_proc=args.num_proc, shard_index=args.shard_index,
                         num_shards=args.num_shards, device=args.device, repair=args.repair, command=command,
                         progress=not args.quiet)
    if not result.get("files"):
        print(f"part {args.shard_index}/{args.num_shards} done ({result['generated_rows']} rows this run); "
              f"{result['missing_shards']} of {result['total_shards']} shards still missing. When every part has "
              "finished, run the same command without --shard-index/--num-shards to check and finalise.")
        return 0
    splits = ", ".join(f"{s}: {v['num_rows']:,} rows / {v['num_shards']} shards" for s, v in result["splits"].items())
    total_bytes = sum(v["num_bytes"] for v in result["splits"].values())
    print(f"wrote {args.out}: {splits}; {total_bytes / 1e6:.1f} MB parquet")
    for split, counts in result["filters"].items():
        print(f"  filters [{split}]: " + ", ".join(f"{k}={v:,}" for k, v in counts.items()))
    return 0


# --------------------------------------------------------------------------------------------- preview
def configure_preview(parser: argparse.ArgumentParser) -> None:
    _add_config_args(parser)
    parser.add_argument("--data", default=None, help="preview a materialised dataset instead of generating")
    parser.add_argument("--split", default="train")
    parser.add_argument("--num", type=int, default=8, help="sequences to preview")
    parser.add_argument("--out", default="nca-preview", help="folder for preview.jsonl and PNG strips")


def run_preview(args: argparse.Namespace) -> int:
    from nca_core.render import save_png

    if args.num < 1:
        raise ValueError(f"--num must be >= 1, got {args.num}")
    if args.data:
        rows = _rows_of(args.data, args.split, limit=args.num)
        tok = _tokenizer_for(args.data, None if args.config == "paper" and not args.sets else args.config)
    else:
        from .generate import ShardGenerator
        from .schema import public_row

        config = _config_from_args(args)
        tok = config.tokenizer
        gen = ShardGenerator(config, args.split, 0, args.num, device=args.device)
        rows = [public_row(r) for r in gen.rows()]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "preview.jsonl", "w") as f:
        for i, row in enumerate(rows):
            frames = tok.decode(np.asarray(row["input_ids"]), allow_partial=True)
            save_png(frames, out / f"sample-{i:03d}.png", tok.n_states, scale=8)
            f.write(json.dumps(row) + "\n")
    print(f"wrote {len(rows)} samples to {out}/preview.jsonl and sample-*.png")
    return 0


# --------------------------------------------------------------------------------------------- labels
def compute_labels(rows: list[dict], tokenizer, scale: str = "gzip-int32-ref") -> list[dict]:
    """Labels of token sequences alone (no rule needed): decoded frames → complexity measures."""
    import torch

    from nca_core.complexity import (
        activity,
        distinct_states,
        gzip_scores,
        period_and_transient,
        state_entropy,
    )

    out = []
    by_len: dict[int, list[int]] = {}
    for i, row in enumerate(rows):
        by_len.setdefault(len(row["input_ids"]), []).append(i)
    labels: list[dict | None] = [None] * len(rows)
    for _, idx in by_len.items():
        ids = np.stack([np.asarray(rows[i]["input_ids"], dtype=np.int64) for i in idx])
        frames = tokenizer.decode(torch.as_tensor(ids), allow_partial=True)
        score = gzip_scores(frames, scale, tokenizer)
        cells = gzip_scores(frames, "gzip-cells")
        ent, act = state_entropy(frames, tokenizer.n_states), activity(frames)
        period, transient = period_and_transient(frames)
        distinct = distinct_states(frames, tokenizer.n_states)
        for j, i in enumerate(idx):
            labels[i] = {"sequence_complexity": float(score[j]), "complexity_scale": scale,
                         "cells_gzip": float(cells[j]), "entropy": float(ent[j]), "activity": float(act[j]),
                         "period": int(period[j]), "transient": int(transient[j]),
                         "distinct_states": int(distinct[j])}
    for row, lab in zip(rows, labels):
        keep = {k: row[k] for k in ("family", "rule_spec", "init_seed", "cluster", "complexity") if k in row}
        out.append({**keep, **lab})
    return out


def configure_labels(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="dataset folder, .parquet / .jsonl file with input_ids, or a Hub id")
    parser.add_argument("--split", default="train")
    parser.add_argument("--config", default=None, help="token layout (default: from the folder's manifest)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N rows")
    parser.add_argument("--out", default="labels.jsonl", help="labels, one JSON line per row")


def run_labels(args: argparse.Namespace) -> int:
    tok = _tokenizer_for(args.data, args.config)
    rows = _rows_of(args.data, args.split, limit=args.limit)
    if not rows:
        raise ValueError(f"{args.data} [{args.split}] has no rows")
    if "input_ids" not in rows[0]:
        raise ValueError(f"{args.data} has no input_ids column")
    labels = compute_labels(rows, tok)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w") as f:
        for lab in labels:
            f.write(json.dumps(lab) + "\n")
    print(f"wrote labels of {len(labels)} sequences to {out}")
    return 0


# --------------------------------------------------------------------------------------------- plot-labels
def configure_plot_labels(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="dataset folder, a .parquet file, or a labels .jsonl from `nca labels`")
    parser.add_argument("--split", default="train")
    parser.add_argument("--out", default="labels.png")


def run_plot_labels(args: argparse.Namespace) -> int:
    from .card import NUMERIC_LABELS, plot_labels, read_labels

    path = Path(args.data)
    if path.is_dir() and list(path.glob(f"data/{args.split}-*.parquet")):
        labels = read_labels(path, args.split)
    else:
        cols = None if path.suffix == ".jsonl" else [c for c in (*NUMERIC_LABELS, "family") if c != "complexity"]
        rows = _rows_of(args.data, args.split, columns=cols)
        if not rows:
            raise ValueError(f"{args.data} has no rows")
        labels = {}
        for key in (*NUMERIC_LABELS, "family"):
            src = key if key in rows[0] else ("sequence_complexity" if key == "complexity" else None)
            if src is None or src not in rows[0]:
                labels[key] = np.array(["unknown"] * len(rows)) if key == "family" else np.zeros(len(rows))
            else:
                labels[key] = np.array([r[src] for r in rows])
    png = plot_labels(labels, args.out)
    print(f"wrote {png}")
    return 0


# --------------------------------------------------------------------------------------------- visualize
def configure_visualize(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="dataset folder, .parquet / .jsonl file, or a Hub id")
    parser.add_argument("--index", type=int, default=0, help="row to show")
    parser.add_argument("--split", default="train")
    parser.add_argument("--config", default=None, help="token layout (default: from the folder's manifest)")
    parser.add_argument("--out", default="sequence.png", help=".png (strip of frames) or .gif (animation)")
    parser.add_argument("--scale", type=int, default=16, help="pixels per cell")


def run_visualize(args: argparse.Namespace) -> int:
    from nca_core.render import save_gif, save_png

    if args.index < 0:
        raise ValueError(f"--index must be >= 0, got {args.index}")
    suffix = Path(args.out).suffix.lower()
    if suffix not in (".png", ".gif"):
        raise ValueError(f"--out must end in .png or .gif, got {args.out!r}")
    tok = _tokenizer_for(args.data, args.config)
    rows = _rows_of(args.data, args.split, limit=args.index + 1)
    if len(rows) <= args.index:
        raise ValueError(f"{args.data} [{args.split}] has only {len(rows)} rows; choose --index < {len(rows)}")
    frames = tok.decode(np.asarray(rows[args.index]["input_ids"]), allow_partial=True)
    if suffix == ".gif":
        save_gif(frames, args.out, tok.n_states, scale=args.scale)
    else:
        save_png(frames, args.out, tok.n_states, scale=args.scale, columns=min(9, frames.shape[0]))
    spec = rows[args.index].get("rule_spec", "")
    print(f"wrote {args.out}: row {args.index}, {frames.shape[0]} frames {spec}")
    return 0


# --------------------------------------------------------------------------------------------- upload
UPLOAD_IGNORE = [".nca/**", "**/.*.tmp-*"]


def check_uploadable(folder: Path) -> dict[str, Any]:
    """Checks that ``folder`` is a finished dataset that ``datasets.load_dataset`` reads; returns its manifest."""
    from .materialise import verify_folder

    if not (folder / "manifest.json").exists() or not (folder / "README.md").exists():
        raise ValueError(f"{folder} is not a finished `nca generate` folder (no manifest.json / README.md): "
                         "run (or finish) `nca generate --out` first")
    problems = verify_folder(folder)
    if problems:
        raise ValueError(f"{folder} does not match its manifest: {'; '.join(problems[:5])}: rerun "
                         "`nca generate` with the same arguments (add --repair for damaged shards)")
    import datasets

    manifest = json.loads((folder / "manifest.json").read_text())
    streams = datasets.load_dataset(str(folder), streaming=True)
    for split in manifest["splits"]:
        next(iter(streams[split]))
    return manifest


def configure_upload(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", help="a folder written by `nca generate`")
    parser.add_argument("--repo-id", required=True, help="Hub dataset repo, e.g. me/nca-paper")
    parser.add_argument("--private", action="store_true")
    parser.add_argument("--dry-run", action="store_true", help="check and list what would be uploaded; no Hub call")
    parser.add_argument("--token", default=None, help="Hub token (default: the logged-in one)")


def run_upload(args: argparse.Namespace) -> int:
    folder = Path(args.folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    manifest = check_uploadable(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.relative_to(folder).as_posix().startswith(".nca/"))
    size = sum(p.stat().st_size for p in files)
    print(f"{folder}: {manifest['total_rows']:,} rows, {len(files)} files, {size / 1e6:.1f} MB → {args.repo_id}"
          f" ({'private' if args.private else 'public'} dataset)")
    if args.dry_run:
        for p in files:
            print(f"  {p.relative_to(folder).as_posix()}")
        print("dry run: nothing uploaded")
        return 0
    from huggingface_hub import HfApi

    api = HfApi(token=args.token)
    api.create_repo(args.repo_id, repo_type="dataset", private=args.private, exist_ok=True)
    api.upload_folder(folder_path=str(folder), repo_id=args.repo_id, repo_type="dataset",
                      ignore_patterns=UPLOAD_IGNORE, commit_message=f"NCA dataset ({manifest['config_name']})")
    print(f"uploaded to https://huggingface.co/datasets/{args.repo_id}")
    return 0
