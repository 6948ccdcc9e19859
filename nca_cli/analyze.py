"""``nca analyze``: a Markdown + PNG report on the dynamics of a rule population or of a dataset.

    nca analyze --config mixed --num-rules 200 --out reports/mixed      # rules a data config draws
    nca analyze --config neural --in-band --num-rules 100               # only rules inside the config's band
    nca analyze --dataset data/nca-tiny --num-rules 300 --out reports/tiny   # a materialised parquet folder

A config population is drawn from the config's families (split by its weights), knobs, states and grid —
the same rule distribution as the generator's candidates, not the same rules — and shown *before* the
band filter unless ``--in-band``. A dataset is decoded from its ``input_ids``; with a ``manifest.json``
(``nca generate`` output) its rows are also rebuilt from their labels, and the report says how many
reproduce exactly. Rules are re-simulated from frame 0 for the perturbation test. Writes report.md, summary.json
and the figures into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

import nca_core as nc
from nca_core.analysis import analyze_frames, analyze_rules, write_report
from nca_core.complexity import SCALES, Band, score_rules
from nca_core.tokens import PatchTokenizer


def configure_analyze(parser: argparse.ArgumentParser) -> None:
    src = parser.add_mutually_exclusive_group()
    src.add_argument("--config", default=None,
                     help="a data config name (paper, paper-code, tiny, mixed, or a family name such as neural) "
                          "whose rule population to analyse (default: mixed)")
    src.add_argument("--dataset", default=None, help="a materialised dataset folder or a Hub dataset id")
    parser.add_argument("--num-rules", type=int, default=100, help="rules (or dataset rows) to analyse (default 100)")
    parser.add_argument("--out", default="nca-analysis", help="output folder for report.md, summary.json, PNGs")
    parser.add_argument("--seed", type=int, default=None, help="seed of the rule sample (default: the config's)")
    parser.add_argument("--in-band", action="store_true",
                        help="keep only rules inside the config's complexity band (as the generator would)")
    parser.add_argument("--scale", choices=SCALES, default=None,
                        help="gzip scale of the complexity score (default: the config's band scale)")
    parser.add_argument("--split", default="train", help="dataset split to read (default train)")
    parser.add_argument("--name", default=None, help="dataset config name (subset), if the dataset has several")
    parser.add_argument("--gallery-size", type=int, default=3, help="example rollouts per band (default 3)")
    parser.add_argument("--no-sensitivity", action="store_true", help="skip the one-cell perturbation test")
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")


def run_analyze(args: argparse.Namespace) -> int:
    if args.num_rules < 1:
        raise ValueError(f"--num-rules must be >= 1, got {args.num_rules}")
    if args.gallery_size < 0:
        raise ValueError(f"--gallery-size must be >= 0, got {args.gallery_size}")
    if args.dataset:
        analysis, source = _from_dataset(args)
    else:
        analysis, source = _from_config(args)
    paths = write_report(analysis, args.out, title="NCA dynamics report", source=source)
    print(f"analysed {analysis['n']} trajectories ({source})")
    print(f"wrote {paths['report']} , {paths['summary']} and {len(paths) - 2} figures in {Path(args.out)}")
    return 0


# ------------------------------------------------------------------------------------------- configs
def resolve_config(name: str) -> dict[str, Any]:
    """A data config as the few fields the analysis needs. Uses ``dataset_builder.configs.get_config`` and
    falls back to a bare family name ('neural', …, or 'mixed' = every family) where that is unavailable."""
    try:
        from dataset_builder.configs import get_config
    except ImportError:
        get_config = None
    if get_config is not None:
        cfg = get_config(name)
        return {"name": name, "families": list(cfg.families), "weights": cfg.family_weights,
                "knobs": dict(cfg.family_knobs), "n_states": cfg.n_states, "sim": cfg.sim_config,
                "band": cfg.band, "seed": cfg.seed}
    if name == "mixed":
        families = sorted(nc.FAMILIES)
    elif name in nc.FAMILIES:
        families = [name]
    else:
        raise ValueError(f"unknown config {name!r}; without dataset_builder use a family name "
                         f"{sorted(nc.FAMILIES)} or 'mixed'")
    return {"name": name, "families": families, "weights": None, "knobs": {}, "n_states": 10,
            "sim": nc.SimConfig(), "band": Band(0.5, 1.0) if name == "neural" else Band(0.2, 1.0), "seed": 0}


def split_counts(total: int, families: list[str], weights: list[float] | tuple[float, ...] | None) -> dict[str, int]:
    """``total`` split over ``families`` by ``weights`` (largest remainder; equal weights by default)."""
    w = np.ones(len(families)) if weights is None else np.asarray(weights, dtype=np.float64)
    share = total * w / w.sum()
    counts = np.floor(share).astype(int)
    for i in np.argsort(-(share - counts), kind="stable")[: total - counts.sum()]:
        counts[i] += 1
    return {f: int(c) for f, c in zip(families, counts, strict=True)}


def sample_population(cfg: dict[str, Any], num_rules: int, seed: int, *, in_band: bool = False,
                      scale: str | None = None, device: str = "auto", max_rounds: int = 20) -> tuple[list, list, np.ndarray]:
    """``num_rules`` (spec, init seed, score) triples drawn as the config draws candidates; with ``in_band``
    only rules whose score lies in the config's band (more candidates are drawn, up to ``max_rounds``×)."""
    band: Band = cfg["band"]
    scale = scale or band.scale
    specs, seeds, scores = [], [], []
    for family, count in split_counts(num_rules, cfg["families"], cfg["weights"]).items():
        if not count:
            continue
        knobs = cfg["knobs"].get(family, {})
        drawn, kept = 0, 0
        batch = count if not in_band else max(count, 32)
        for _ in range(max_rounds if in_band else 1):
            cand = nc.sample_rules(family, drawn + batch, seed, n_states=cfg["n_states"], **knobs)[drawn:]
            cand_seeds = [seed * 1_000_003 + drawn + i for i in range(len(cand))]
            s = score_rules(cand, cand_seeds, scale=scale, device=device, n_states=max(cfg["n_states"], 2))
            band_s = s if scale == band.scale else score_rules(cand, cand_seeds, scale=band.scale, device=device,
                                                                n_states=max(cfg["n_states"], 2))
            for spec, sd, sc, bs in zip(cand, cand_seeds, s, band_s, strict=True):
                if kept < count and (not in_band or band.contains(float(bs))):
                    specs.append(spec)
                    seeds.append(sd)
                    scores.append(float(sc))
                    kept += 1
            drawn += len(cand)
            if kept >= count:
                break
        if kept < count:
            print(f"nca analyze: only {kept} of {count} {family} rules fell in the band {band.label()} "
                  f"after {drawn} candidates; analysing those")
    return specs, seeds, np.asarray(scores, dtype=np.float64)


def _from_config(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    name = args.config or "mixed"
    cfg = resolve_config(name)
    seed = cfg["seed"] if args.seed is None else args.seed
    scale = args.scale or cfg["band"].scale
    specs, seeds, scores = sample_population(cfg, args.num_rules, seed, in_band=args.in_band, scale=scale,
                                             device=args.device)
    if not specs:
        raise ValueError(f"no rule of config {name!r} fell in its band {cfg['band'].label()}: drop --in-band")
    analysis = analyze_rules(specs, seeds, cfg["sim"], scores=scores, scale=scale, sensitivity=not args.no_sensitivity,
                             gallery_size=args.gallery_size, device=args.device)
    in_band = float(np.mean([cfg["band"].contains(x) for x in scores])) if scale == cfg["band"].scale else None
    analysis["source"] = {"config": name, "families": cfg["families"], "seed": seed, "in_band_only": args.in_band,
                          "config_band": cfg["band"].label(), "share_in_config_band": in_band}
    where = "only rules inside" if args.in_band else "before filtering by"
    share = "" if in_band is None or args.in_band else f"; {in_band:.0%} of them lie in that band"
    return analysis, f"data config `{name}` ({', '.join(cfg['families'])}), seed {seed}, {where} its band " \
                     f"{cfg['band'].label()}{share}"


# ------------------------------------------------------------------------------------------- datasets
def infer_tokenizer(ids: list[int], patch: int = 2) -> PatchTokenizer:
    """The patch layout of a token row: frame_start = n^(p²) is its first id, a frame is up to frame_end."""
    start = int(ids[0])
    try:
        per = ids.index(start + 1) + 1
    except ValueError:
        raise ValueError(f"row does not look like NCA patch tokens: no frame-end id {start + 1} after "
                         f"frame-start {start}") from None
    n = round(start ** (1 / patch**2))
    side = math.isqrt(per - 2)
    if n**(patch**2) != start or side * side != per - 2:
        raise ValueError(f"cannot infer the patch layout from a row starting with {start} and {per}-token frames "
                         "(expected square grids of 2×2 patches)")
    return PatchTokenizer(n, patch, side * patch, side * patch)


def load_rows(dataset: str, num_rows: int, split: str = "train", name: str | None = None) -> list[dict]:
    """The first ``num_rows`` rows of a materialised folder or Hub dataset (streamed)."""
    import datasets  # only on this path: nca_core and the other commands stay free of it

    path = Path(dataset)
    if not path.exists() and (dataset.startswith((".", "/")) or dataset.count("/") != 1):
        raise FileNotFoundError(f"dataset folder {dataset} does not exist (give a folder or a Hub id 'user/name')")
    try:
        ds = datasets.load_dataset(str(path) if path.exists() else dataset, name, split=split, streaming=True)
        rows = [dict(r) for _, r in zip(range(num_rows), ds, strict=False)]
    except ValueError as err:
        raise ValueError(f"cannot read split {split!r} of {dataset}: {err}") from None
    except (ConnectionError, OSError) as err:  # offline Hub ids, missing repos, unreadable folders
        where = "the folder" if path.exists() else "the Hub (needs network, or a cached copy)"
        raise FileNotFoundError(f"cannot load dataset {dataset!r} from {where}: {err}") from None
    if not rows:
        raise ValueError(f"dataset {dataset} split {split!r} has no rows")
    if "input_ids" not in rows[0]:
        raise ValueError(f"dataset {dataset} has no input_ids column (columns: {sorted(rows[0])})")
    return rows


def _from_dataset(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    rows = load_rows(args.dataset, args.num_rules, args.split, args.name)
    tok = infer_tokenizer(list(rows[0]["input_ids"]))
    frames = np.stack([tok.decode(r["input_ids"], allow_partial=True).numpy() for r in rows])
    specs = [json.loads(r["rule_spec"]) if isinstance(r.get("rule_spec"), str) else r.get("rule_spec") for r in rows]
    has_specs = all(s is not None for s in specs)
    seeds = [int(r.get("init_seed", i)) for i, r in enumerate(rows)]
    note = ""
    sim = folder_sim_config(args.dataset)
    if has_specs and sim is not None and all("init_seed" in r for r in rows):
        full, reproduced = resimulate(rows, specs, seeds, sim, tok, args.device)
        note = f"; {reproduced} of {len(rows)} rows re-simulated from their labels reproduce their input_ids exactly"
        if reproduced == len(rows):  # analyse the whole trajectories, not the token cut
            frames = full
            note += f", so all {sim.frames} frames are analysed"
    families = [r.get("family") or (s or {}).get("family", "unknown") for r, s in zip(rows, specs, strict=True)]
    scales = {r.get("complexity_scale") for r in rows if r.get("complexity") is not None}
    if len(scales) > 1:
        raise ValueError(f"rows mix complexity scales {sorted(map(str, scales))}: analyse one config at a time (--name)")
    scale = args.scale or (scales.pop() if scales else None) or "gzip-int32-ref"
    if scales and args.scale and args.scale not in scales:
        scores = None  # the rows' scores are on another scale: rescore below
    else:
        scores = np.array([np.nan if r.get("complexity") is None else float(r["complexity"]) for r in rows])
    if (scores is None or np.isnan(scores).all()) and has_specs:
        rule_seeds = [int(r.get("rule_seed", s)) for r, s in zip(rows, seeds, strict=True)]
        scores = score_rules(specs, rule_seeds, scale=scale, device=args.device, n_states=tok.n_states)
    analysis = analyze_frames(frames, specs=specs if has_specs else None, seeds=seeds, families=families,
                              scores=scores, scale=scale, sensitivity=not args.no_sensitivity and has_specs,
                              gallery_size=args.gallery_size, device=args.device)
    analysis["source"] = {"dataset": args.dataset, "split": args.split, "name": args.name, "rows": len(rows)}
    analysis["source"]["reproduced_from_labels"] = note or None
    return analysis, f"dataset `{args.dataset}` split `{args.split}`, first {len(rows)} rows " \
                     f"({tok.height}×{tok.width}, {tok.n_states} states, {frames.shape[1]} frames per row){note}"


def folder_sim_config(dataset: str) -> nc.SimConfig | None:
    """The simulation settings in a local folder's manifest.json (written by ``nca generate``), if any."""
    manifest = Path(dataset) / "manifest.json"
    if not manifest.is_file():
        return None
    try:
        cfg = json.loads(manifest.read_text())["config"]
        return nc.SimConfig(height=int(cfg["height"]), width=int(cfg["width"]), burn_in=int(cfg["burn_in"]),
                            frames=int(cfg["frames"]))
    except (KeyError, TypeError, ValueError, json.JSONDecodeError):
        return None


def resimulate(rows: list[dict], specs: list, seeds: list[int], sim: nc.SimConfig, tok: PatchTokenizer,
               device: str) -> tuple[np.ndarray, int]:
    """Whole trajectories rebuilt from (rule spec, init seed, settings), and how many rows they reproduce."""
    if (sim.height, sim.width) != (tok.height, tok.width):
        return np.zeros(0), 0
    full = nc.rollout(specs, seeds, sim, device=device).cpu()
    ids = tok.encode(full).numpy()
    same = sum(bool(np.array_equal(ids[i, : len(r["input_ids"])], np.asarray(r["input_ids"])))
               for i, r in enumerate(rows))
    return full.numpy(), same
