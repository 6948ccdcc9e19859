"""The dataset card (README.md with YAML ``configs`` + ``dataset_info``), label statistics and plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .configs import NCADataConfig
from .schema import COLUMNS, dataset_info_yaml

NUMERIC_LABELS = ("complexity", "cells_gzip", "entropy", "activity", "period", "transient", "distinct_states")
FILTER_TEXT = {
    "candidates": "candidate rules drawn for the split",
    "out_of_band": "rules outside the complexity band (removed)",
    "trivial": "trivial sequences: uniform grid or early fixed point / short cycle (removed)",
    "duplicate": "exact duplicates by content hash (removed)",
    "cluster_cap": "over the per-behaviour-cluster cap (removed)",
    "kept": "sequences kept",
}


def read_labels(folder: str | Path, split: str | None = None) -> dict[str, np.ndarray]:
    """Every label column (all but ``input_ids``) of a materialised folder, concatenated over shards."""
    import pyarrow.parquet as pq

    files = sorted(Path(folder).glob(f"data/{split or '*'}-*.parquet"))
    if not files:
        raise FileNotFoundError(f"no parquet shards under {Path(folder) / 'data'}: is it an `nca generate` folder?")
    cols = [c for c in COLUMNS if c != "input_ids"]
    tables = [pq.read_table(f, columns=cols) for f in files]
    return {c: np.concatenate([t.column(c).to_numpy(zero_copy_only=False) for t in tables]) for c in cols}


def label_statistics(labels: dict[str, np.ndarray]) -> dict[str, Any]:
    stats: dict[str, Any] = {"rows": int(len(labels["family"]))}
    for key in NUMERIC_LABELS:
        x = np.asarray(labels[key], dtype=np.float64)
        if len(x):
            p = np.percentile(x, [10, 50, 90])
            stats[key] = {"mean": float(x.mean()), "std": float(x.std()), "min": float(x.min()),
                          "p10": float(p[0]), "median": float(p[1]), "p90": float(p[2]), "max": float(x.max())}
    fam, counts = np.unique(labels["family"].astype(str), return_counts=True)
    stats["family"] = {str(f): int(c) for f, c in zip(fam, counts)}
    per, pc = np.unique(labels["period"], return_counts=True)
    stats["period_counts"] = {str(int(p)): int(c) for p, c in zip(per, pc)}
    stats["clusters"] = int(len(np.unique(labels["cluster"])))
    stats["rules"] = int(len(np.unique(labels["rule_spec"].astype(str))))
    return stats


def plot_labels(labels: dict[str, np.ndarray], path: str | Path, title: str = "") -> Path:
    """Histograms of the numeric labels and the family counts, one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(NUMERIC_LABELS) + ["family"]
    fig, axes = plt.subplots(2, 4, figsize=(16, 7))
    for ax, key in zip(axes.flat, keys):
        if key == "family":
            fam, counts = np.unique(labels["family"].astype(str), return_counts=True)
            ax.bar(fam, counts, color="tab:blue")
            ax.tick_params(axis="x", rotation=30)
        else:
            x = np.asarray(labels[key], dtype=np.float64)
            discrete = key in ("period", "transient", "distinct_states")
            bins = np.arange(x.min(), x.max() + 2) - 0.5 if discrete and len(x) else 40
            ax.hist(x, bins=bins, color="tab:blue")
        ax.set_title(key)
    fig.suptitle(title or f"label distributions ({len(labels['family']):,} sequences)")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def card_yaml(manifest: dict[str, Any]) -> dict[str, Any]:
    splits = manifest["splits"]
    return {
        "configs": [{"config_name": "default", "default": True,
                     "data_files": [{"split": s, "path": f"data/{s}-*.parquet"} for s in splits]}],
        "dataset_info": {"features": dataset_info_yaml(),
                         "splits": [{"name": s, "num_examples": v["num_rows"], "num_bytes": v["num_bytes"]}
                                    for s, v in splits.items()]},
        "license": "apache-2.0",
        "task_categories": ["text-generation"],
        "tags": ["cellular-automata", "neural-cellular-automata", "synthetic", "pre-pre-training"],
        "size_categories": [_size_category(manifest["total_rows"])],
    }


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                        (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")):
        if n < limit:
            return name
    return "10M<n<100M"


def write_card(out: Path, config: NCADataConfig, manifest: dict[str, Any]) -> Path:
    from .materialise import atomic_write

    labels = read_labels(out)
    stats = label_statistics(labels)
    manifest["label_statistics"] = stats
    plot = plot_labels(labels, out / "images" / "labels.png", f"{config.name}: label distributions "
                       f"({stats['rows']:,} sequences)")
    tok = config.tokenizer
    lines = ["---", yaml.safe_dump(card_yaml(manifest), sort_keys=False).rstrip(), "---", "",
             f"# NCA sequences — `{config.name}`", "",
             f"{config.description}", "",
             "Token sequences of neural cellular automata (arXiv 2603.10055), generated by "
             "`dataset_builder` of this project. Each row is one trajectory: "
             f"{config.frames} frames of a {config.height}×{config.width} torus with {config.n_states} states, "
             f"{tok.patch}×{tok.patch} patches → ids 0..{tok.num_patch_ids - 1}, frame delimiters "
             f"{tok.frame_start} / {tok.frame_end}, {config.sequence_length} ids per row.", "",
             "```python", "from datasets import load_dataset",
             "ds = load_dataset(\"<this folder or repo id>\", split=\"train\")            # or streaming=True",
             "```", "",
             "## How it was generated", "",
             f"```\n{manifest.get('command') or 'nca generate --config ' + config.name}\n```", "",
             "Per shard: draw candidate rules (each rule belongs to one split only, by a hash of its spec), "
             f"score each on a separate rollout (`{config.band_scale}`), keep the band "
             f"({config.band_lower:g}, {config.band_upper:g}) (strict), roll out {config.sequences_per_rule} "
             "initial condition(s) per rule, tokenise, then drop trivial sequences, exact duplicates (content "
             "hash, unique across the whole dataset) and sequences over the behaviour-cluster cap. Frames are not "
             "stored: decode `input_ids` with `nca_core.tokens.PatchTokenizer`, or replay the rule "
             "(`rule_spec`, `init_seed`) with `nca_core.rollout`.", "",
             "Config (`dataset_builder.configs.get_config`):", "", "```json",
             json.dumps(config.to_dict(), indent=1), "```", "",
             "## Filters", "", "| split | " + " | ".join(FILTER_TEXT) + " |",
             "|---|" + "---|" * len(FILTER_TEXT)]
    for split, counts in manifest["filters"].items():
        lines.append(f"| {split} | " + " | ".join(f"{counts.get(k, 0):,}" for k in FILTER_TEXT) + " |")
    lines += ["", "; ".join(f"`{k}`: {v}" for k, v in FILTER_TEXT.items()), "",
              "## Label statistics", "",
              f"{stats['rows']:,} rows, {stats['rules']:,} distinct rules, {stats['clusters']:,} behaviour clusters; "
              f"families: {stats['family']}.", "",
              "| label | mean | std | min | p10 | median | p90 | max |", "|---|---|---|---|---|---|---|---|"]
    for key in NUMERIC_LABELS:
        if key in stats:
            s = stats[key]
            lines.append(f"| {key} | " + " | ".join(f"{s[k]:.4g}" for k in
                                                    ("mean", "std", "min", "p10", "median", "p90", "max")) + " |")
    lines += ["", f"Period counts (0 = no attractor within the horizon): {stats['period_counts']}", "",
              f"![label distributions]({plot.relative_to(out).as_posix()})", "",
              "## Columns", "", "| column | type | meaning |", "|---|---|---|"]
    for name, (_, dtype, text) in COLUMNS.items():
        lines.append(f"| `{name}` | {'list of ' + dtype if name == 'input_ids' else dtype} | {text} |")
    lines += ["", "## Files", "",
              "`manifest.json` lists every shard with its row count and sha256; `.nca/` holds the resume state "
              "of `nca generate`. Splits: " + ", ".join(f"{s} {v['num_rows']:,} rows in {v['num_shards']} shards"
                                                     for s, v in manifest["splits"].items()) + ".", ""]
    path = out / "README.md"
    atomic_write(path, lambda tmp: tmp.write_text("\n".join(lines)))
    return path
