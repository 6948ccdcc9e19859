"""What the demo computes, free of Gradio: rollouts with labels, trajectories read from files, model
predictions scored per step, and dataset rows decoded. Every function raises ``ValueError`` with a message
meant for the page when its input cannot be used; ``space.app`` turns those into messages in the UI."""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

import nca_core as nc
from nca_core import render
from nca_core.rules import num_states

MAX_SIZE = 64
MAX_FRAMES = 64
MAX_BURN_IN = 500
MAX_SEED = 2**62
SCALE = 16  # pixels per cell in the PNG strips
GIF_SCALE = 20


# ----------------------------------------------------------------------------------------------- checks
def as_int(value: Any, name: str, low: int, high: int) -> int:
    """``value`` from a form field as an int in [low, high], or a ValueError saying what to enter."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError(f"{name} is empty: enter a whole number between {low} and {high}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a whole number between {low} and {high}, got {value!r}") from None
    if not math.isfinite(number) or number != int(number):
        raise ValueError(f"{name} must be a whole number between {low} and {high}, got {value!r}")
    if not low <= int(number) <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {int(number)}")
    return int(number)


def as_float(value: Any, name: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number between {low} and {high}, got {value!r}") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise ValueError(f"{name} must be a number between {low} and {high}, got {value!r}")
    return number


# ----------------------------------------------------------------------------------------------- rules
@dataclass(frozen=True)
class Knobs:
    """The family knobs the Explore tab exposes (each family reads its own)."""

    n_states: int = 10
    preset: str = "paper"  # neural
    tau: float = 1e-4  # neural
    density: float = 0.3  # lifelike
    generations: float = 0.3  # lifelike
    kind: str = "any"  # symbolic: any / cyclic / lookup
    lam: float = 0.4  # symbolic lookup
    lenia_manual: bool = False  # lenia: use the parameters below instead of drawing them from the seed
    radius: int = 3
    mu: float = 0.15
    sigma: float = 0.017
    lenia_dt: float = 0.1
    smooth_manual: bool = False  # smoothlife: likewise
    inner_radius: float = 1.5
    b1: float = 0.278
    b2: float = 0.365
    d1: float = 0.267
    d2: float = 0.445
    smooth_dt: float = 0.5


def family_knobs(family: str, knobs: Knobs) -> dict[str, Any]:
    """The keyword knobs ``nca_core.sample_rules`` takes for ``family``."""
    if family == "neural":
        return {"preset": knobs.preset, "tau": as_float(knobs.tau, "τ (temperature)", 0.0, 100.0)}
    if family == "lifelike":
        return {"density": as_float(knobs.density, "density", 0.0, 1.0),
                "generations": as_float(knobs.generations, "generations", 0.0, 1.0)}
    if family == "symbolic":
        out: dict[str, Any] = {"lam": as_float(knobs.lam, "λ", 0.0, 1.0)}
        if knobs.kind in ("cyclic", "lookup"):
            out["kind"] = knobs.kind
        return out
    return {}


def resolve_rule(family: str, rule_text: str | None, rule_seed: Any, knobs: Knobs) -> dict:
    """The rule to run: ``rule_text`` when given (a JSON spec, or for lifelike a B/S string or name such as
    ``B3/S23`` / ``life``), else the rule ``sample_rules(family, 1, rule_seed, ...)`` draws."""
    text = (rule_text or "").strip()
    if text:
        if text.startswith("{"):
            return nc.validate_spec(text)
        if family != "lifelike":
            raise ValueError(f"rule {text!r} is not a JSON spec: write e.g. {{\"family\": \"{family}\", ...}}, "
                             "or leave the field empty to sample a rule from the rule seed")
        return nc.validate_spec({"family": "lifelike", "rule": text})
    if family not in nc.FAMILIES:
        raise ValueError(f"unknown family {family!r}; choose one of {sorted(nc.FAMILIES)}")
    n = as_int(knobs.n_states, "number of states", 2, 10)
    if family == "lenia" and knobs.lenia_manual:  # the family's complexity knobs, set by hand
        return nc.validate_spec({"family": "lenia", "radius": as_int(knobs.radius, "kernel radius", 1, 5),
                                 "mu": knobs.mu, "sigma": knobs.sigma, "dt": knobs.lenia_dt, "n_states": n})
    if family == "smoothlife" and knobs.smooth_manual:
        return nc.validate_spec({"family": "smoothlife", "inner_radius": knobs.inner_radius, "b1": knobs.b1,
                                 "b2": knobs.b2, "d1": knobs.d1, "d2": knobs.d2, "dt": knobs.smooth_dt,
                                 "n_states": n})
    seed = as_int(rule_seed, "rule seed", 0, MAX_SEED)
    return nc.sample_rules(family, 1, seed, n_states=n, **family_knobs(family, knobs))[0]


# ----------------------------------------------------------------------------------------------- explore
@dataclass
class Rollout:
    spec: dict
    init_seed: int
    frames: np.ndarray  # (T, H, W) uint8
    n_states: int
    labels: dict


def explore(spec: dict, init_seed: Any, size: Any, frames: Any, burn_in: Any) -> Rollout:
    """Simulate one rule and label the trajectory (reference complexity from a separate 12×12 rollout)."""
    from nca_core.complexity import score_rules
    from nca_core.labels import sequence_labels

    seed = as_int(init_seed, "initial-condition seed", 0, MAX_SEED)
    side = as_int(size, "grid size", 4, MAX_SIZE)
    count = as_int(frames, "frames", 2, MAX_FRAMES)
    burn = as_int(burn_in, "burn-in steps", 0, MAX_BURN_IN)
    config = nc.SimConfig(height=side, width=side, burn_in=burn, frames=count)
    traj = nc.rollout([spec], [seed], config, device="cpu")[0].numpy()
    n = num_states(spec)
    score = score_rules([spec], [seed], device="cpu")
    labels = sequence_labels([spec], [seed], traj[None], n, scores=score)[0]
    labels["n_states"] = n
    labels["simulation"] = config.to_dict()
    return Rollout(spec, seed, traj, n, labels)


def labels_markdown(labels: dict) -> str:
    """The labels that matter, with what each means and which scale a score is on."""
    period = labels["period"]
    dyn = ("no repeat within the horizon" if period == 0 else
           "fixed point" if period == 1 else f"cycle of period {period}")
    rows = [
        ("complexity", f"{labels['complexity']:.3f}", f"gzip ratio, `{labels['complexity_scale']}` scale "
         "(the reference's separate 12×12 scoring rollout; the paper trains on 0.5–1)"),
        ("cells gzip", f"{labels['cells_gzip']:.3f}", "gzip ratio of this trajectory's raw cells (`gzip-cells` scale)"),
        ("entropy", f"{labels['entropy']:.3f} bits", f"of the state histogram (at most {math.log2(labels['n_states']):.2f})"),
        ("activity", f"{labels['activity']:.3f}", "mean fraction of cells changing per step"),
        ("period", str(period), f"{dyn}; transient {labels['transient']} frames"),
        ("distinct states", str(labels["distinct_states"]), "states seen in the trajectory"),
    ]
    body = "\n".join(f"| {name} | {value} | {meaning} |" for name, value, meaning in rows)
    return "| label | value | meaning |\n|---|---|---|\n" + body


_TMP: Path | None = None


def temp_dir() -> Path:
    global _TMP
    if _TMP is None:
        _TMP = Path(tempfile.mkdtemp(prefix="nca-space-"))
    return _TMP


def gif_file(frames: np.ndarray, n_states: int, name: str = "rollout") -> str:
    """Write an animated GIF of ``frames`` and return its path (Gradio serves the file as it is)."""
    path = Path(tempfile.mkstemp(prefix=f"{name}-", suffix=".gif", dir=temp_dir())[1])
    scale = max(2, min(GIF_SCALE, 480 // max(frames.shape[-2:])))
    render.save_gif(frames, path, n_states, scale=scale, duration_ms=250)
    return str(path)


def side_by_side_gif(truth: np.ndarray, predicted: np.ndarray, n_states: int) -> str:
    """Animated GIF, one step per frame: truth on the left, the prediction on the right with wrong cells
    outlined in red."""
    from PIL import Image

    scale = max(4, min(GIF_SCALE, 240 // max(truth.shape[-2:])))
    frames = []
    for t in range(len(truth)):
        left = render.frame_image(truth[t], n_states, scale)
        right = render.frame_image(predicted[t], n_states, scale, highlight=truth[t] != predicted[t])
        canvas = Image.new("RGB", (left.width * 2 + 4 * render.GAP, left.height), (255, 255, 255))
        canvas.paste(left, (0, 0))
        canvas.paste(right, (left.width + 4 * render.GAP, 0))
        frames.append(canvas)
    path = Path(tempfile.mkstemp(prefix="compare-", suffix=".gif", dir=temp_dir())[1])
    frames[0].save(path, format="GIF", save_all=True, append_images=frames[1:], duration=600, loop=0)
    return str(path)


def strip(frames: np.ndarray, n_states: int, columns: int = 9):
    scale = max(2, min(SCALE, 192 // max(frames.shape[-2:])))
    return render.strip_image(frames, n_states, scale=scale, columns=min(columns, len(frames)))


# ----------------------------------------------------------------------------------------------- files
def read_trajectory(path: str | Path, n_states: int = 10) -> np.ndarray:
    """An uploaded trajectory as (T, H, W) uint8: ``.npy`` (T, H, W) integers, ``.txt`` in the text
    encoding (one character per cell, rows on lines, frames separated by a blank line), or ``.json`` with
    ``{"frames": [[[...]]]}``. Raises ValueError saying what was wrong."""
    path = Path(path)
    name = path.name
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
        elif suffix == ".txt":
            from nca_core.tokens import TextEncoding

            arr = TextEncoding(n_states).decode(path.read_text(encoding="utf-8"))
        elif suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or "frames" not in data:
                raise ValueError('a JSON trajectory is an object {"frames": [[[cells of frame 0]], ...]}')
            arr = np.asarray(data["frames"])
        else:
            raise ValueError(f"unknown file type {suffix or '(none)'!r}: upload a .npy, .txt or .json trajectory")
    except ValueError as err:
        raise ValueError(f"{name} is not a trajectory: {err}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"{name} could not be read as a trajectory ({type(err).__name__}): upload a .npy array "
                         "(frames, height, width), a .txt in the text encoding or a .json {\"frames\": ...}") from None
    if arr.dtype == object or arr.ndim != 3 or 0 in arr.shape:
        raise ValueError(f"{name} is not a trajectory: expected frames of shape (frames, height, width), got "
                         f"shape {tuple(arr.shape)}")
    if not np.issubdtype(arr.dtype, np.integer) and not (np.issubdtype(arr.dtype, np.floating)
                                                          and np.all(np.mod(arr, 1) == 0)):
        raise ValueError(f"{name} is not a trajectory: cells must be whole-number states, got dtype {arr.dtype}")
    if arr.min() < 0 or arr.max() >= n_states:
        raise ValueError(f"{name} is not a trajectory: cells must be states 0..{n_states - 1}, found "
                         f"{arr.min()}..{arr.max()}")
    return arr.astype(np.uint8)


# ----------------------------------------------------------------------------------------------- models
def bundled_checkpoint() -> Path:
    return Path(__file__).resolve().parent / "checkpoint"


def default_model() -> str | None:
    path = bundled_checkpoint()
    return str(path) if (path / "config.json").is_file() else None


@lru_cache(maxsize=4)
def load_model(path_or_id: str):
    """(model, encoding dict) through the evaluation harness, cached per path or Hub id."""
    from evaluate_metrics.harness import load_model as harness_load

    return harness_load(path_or_id)


def get_model(path_or_id: str | None):
    name = (path_or_id or "").strip()
    if not name:
        raise ValueError("no model given: enter a checkpoint folder or a Hub id (the bundled tiny checkpoint is "
                         "space/checkpoint)")
    local = Path(name).expanduser()
    looks_local = name.startswith((".", "/", "~")) or local.exists()
    if looks_local and not (local / "config.json").is_file():
        raise ValueError(f"cannot load model {name!r}: no such checkpoint folder (it needs config.json and "
                         "nca_encoding.json, as `nca train` writes them)")
    try:
        return load_model(str(local.resolve()) if looks_local else name)
    except Exception as err:  # noqa: BLE001 — any loading failure becomes a message in the page
        msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"cannot load model {name!r}: {msg[:300]}") from None


@dataclass
class Prediction:
    context: np.ndarray  # (N, H, W)
    truth: np.ndarray  # (horizon, H, W)
    predicted: np.ndarray  # (horizon, H, W)
    n_states: int

    @property
    def cell_accuracy(self) -> np.ndarray:
        return (self.truth == self.predicted).mean(axis=(1, 2))

    @property
    def exact(self) -> np.ndarray:
        return (self.truth == self.predicted).all(axis=(1, 2))

    def table(self) -> list[list]:
        return [[i + 1, round(float(a), 4), bool(e)] for i, (a, e) in enumerate(zip(self.cell_accuracy, self.exact))]

    def summary(self) -> str:
        acc = self.cell_accuracy
        wrong = np.flatnonzero(~self.exact)
        first = f"first wrong frame: step {wrong[0] + 1}" if len(wrong) else "every predicted frame is exact"
        last = self.context[-1]
        copy = float((self.truth == last[None]).mean())
        return (f"**mean cell accuracy {acc.mean():.3f}** over {len(acc)} predicted steps "
                f"({int(self.exact.sum())} exact frames; {first}). Copy-the-last-frame baseline: {copy:.3f}.")


def predict(model_and_encoding, trajectory: np.ndarray, context: Any, horizon: Any) -> Prediction:
    """The model sees the first ``context`` frames of ``trajectory`` and predicts the next ``horizon``."""
    from evaluate_metrics.harness import predict_frames

    model, encoding = model_and_encoding
    n_ctx = as_int(context, "context frames", 1, MAX_FRAMES)
    steps = as_int(horizon, "frames to predict", 1, MAX_FRAMES)
    if n_ctx + steps > len(trajectory):
        raise ValueError(f"the trajectory has {len(trajectory)} frames, fewer than context {n_ctx} + horizon {steps}")
    h, w = int(encoding.get("height", 12)), int(encoding.get("width", 12))
    n = int(encoding.get("n_states", 10))
    if trajectory.shape[1:] != (h, w):
        raise ValueError(f"the model was trained on {h}×{w} grids; this trajectory is "
                         f"{trajectory.shape[1]}×{trajectory.shape[2]}")
    if int(trajectory.max()) >= n:
        raise ValueError(f"the model knows states 0..{n - 1}; the trajectory uses state {int(trajectory.max())}")
    ctx = trajectory[:n_ctx]
    pred = predict_frames(model, encoding, ctx[None], steps)
    pred = np.asarray(pred.cpu() if hasattr(pred, "cpu") else pred)[0].astype(np.uint8)
    return Prediction(ctx, trajectory[n_ctx : n_ctx + steps], pred, n)


# ----------------------------------------------------------------------------------------------- datasets
def dataset_geometry(source: str) -> dict:
    """The simulation settings of a dataset: ``config`` in the ``manifest.json`` that ``nca generate`` writes
    (local folder, or fetched from the Hub); empty when there is none (then the reference layout applies)."""
    source = (source or "").strip()
    local = Path(source).expanduser()
    try:
        if local.is_dir():
            manifest = local / "manifest.json"
            data = json.loads(manifest.read_text()) if manifest.is_file() else {}
        else:
            from huggingface_hub import hf_hub_download

            data = json.loads(Path(hf_hub_download(source, "manifest.json", repo_type="dataset")).read_text())
    except Exception:  # noqa: BLE001 — no manifest: fall back to the row's columns / the reference layout
        return {}
    config = data.get("config", {}) if isinstance(data, dict) else {}
    return {k: config[k] for k in ("n_states", "patch", "height", "width") if isinstance(config.get(k), int)}


def geometry(row: dict, known: dict | None = None) -> tuple[int, int, int, int]:
    """(n_states, patch, height, width) of a dataset row: its own columns if it has them, else the dataset's
    manifest (``known``), else the reference 10 states, 2×2 patches, 12×12 grid."""
    known = known or {}

    def get(key: str, default: int) -> int:
        value = row.get(key, known.get(key, default))
        return int(value) if value else default

    return get("n_states", 10), get("patch", 2), get("height", 12), get("width", 12)


def row_frames(row: dict, known: dict | None = None) -> tuple[np.ndarray, int]:
    """Frames (T, H, W) and n_states of one dataset row (``input_ids`` in the patch layout, or ``text``)."""
    from nca_core.tokens import PatchTokenizer, TextEncoding

    n, patch, h, w = geometry(row, known)
    if row.get("input_ids") is not None:
        tok = PatchTokenizer(n, patch, h, w)
        ids = np.asarray(row["input_ids"], dtype=np.int64)
        first = np.flatnonzero(ids == tok.frame_start)
        if len(first):
            ids = ids[first[0]:]  # a model-specific prefix (e.g. BOS) before the first frame
        try:
            frames = tok.decode(ids, allow_partial=True).numpy()
        except ValueError as err:
            raise ValueError(f"the row's input_ids do not decode as {h}×{w} grids of {n} states with {patch}×{patch} "
                             f"patches ({err}); the dataset folder needs its manifest.json") from None
        if not len(frames):
            raise ValueError("the row holds no whole frame")
        return frames, n
    if isinstance(row.get("text"), str):
        return TextEncoding(n).decode(row["text"]), n
    raise ValueError(f"the row has neither input_ids nor text; its columns are {sorted(row)}")


def load_rows(source: str, config: str | None, split: str, start: int, count: int) -> list[dict]:
    """Rows ``start .. start+count-1`` of a dataset folder or Hub id (streamed, nothing else is read)."""
    import datasets

    source = (source or "").strip()
    if not source:
        raise ValueError("enter a dataset folder (from `nca generate --out DIR`) or a Hub id")
    local = Path(source).expanduser()
    if source.startswith((".", "/", "~")) and not local.exists():
        raise ValueError(f"dataset folder {source!r} does not exist")
    target = str(local.resolve()) if local.exists() else source
    try:
        ds = datasets.load_dataset(target, (config or "").strip() or None, split=(split or "train").strip(),
                                   streaming=True)
        return list(ds.skip(start).take(count))
    except Exception as err:  # noqa: BLE001 — any loading failure becomes a message in the page
        msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"cannot read dataset {source!r} (config {config or 'default'!r}, split {split!r}): "
                         f"{msg[:300]}") from None


LABEL_COLUMNS = ("family", "complexity", "complexity_scale", "entropy", "activity", "period", "rule_spec")


def row_labels(row: dict) -> dict:
    """Every column of the row except the token ids, JSON-friendly."""
    out = {}
    for key, value in row.items():
        if key in ("input_ids", "attention_mask", "text"):
            continue
        out[key] = value.item() if isinstance(value, np.generic) else value
    return out
