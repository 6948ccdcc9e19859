"""Training data for the recipes: NCA token rows → ``input_ids`` + ``labels`` for the Trainer.

Sources (``dataset_name``):
- a builder config name (``tiny``, ``paper``, ``mixed``, a family …): generated on the fly by
  ``dataset_builder.load_nca_dataset(..., streaming=True)``, nothing written to disk;
- a local folder written by ``nca generate --out DIR`` (loaded with ``datasets.load_dataset(DIR)``);
- a Hub dataset id (``user/name``), streamed.

Rows hold nca_core patch ids. The ``patch`` encoding adds ``token_offset`` (0 for the NCA tokenizer, the id of
the first added token for an extended Qwen tokenizer); the ``text`` encoding decodes the frames and tokenizes
their text form (one character per cell) with the model's own tokenizer. Optional loss masks: the first frame
(nothing to predict it from) and the frame delimiters (fixed layout). Streaming data is split across ranks
by accelerate (by shard when there are enough shards, otherwise each rank takes every world-size-th batch),
so ranks never see the same row.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nca_core.tokens import PatchTokenizer, TextEncoding

IGNORE = -100


def hub_offline() -> bool:
    return any(os.environ.get(k, "").lower() in ("1", "true", "yes", "on")
               for k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"))


def looks_like_hub_id(name: str) -> bool:
    return "/" in name and not name.startswith((".", "/", "~")) and not Path(name).exists() and name.count("/") == 1


def require_online(name: str, what: str) -> None:
    """Fail at once (not after minutes of retries) when a Hub id is asked for while offline."""
    if hub_offline():
        raise ValueError(f"{what} {name!r} is not a local path and looks like a Hub id, but the Hub is offline "
                         "(HF_HUB_OFFLINE / HF_DATASETS_OFFLINE / TRANSFORMERS_OFFLINE is set): give a local path, "
                         "a builder config name, or unset the offline flags on a machine that reaches the Hub")


def parse_overrides(value: dict | str | None) -> dict:
    """Builder-config overrides from YAML (a mapping) or the CLI (JSON, or ``key=value,key=value``)."""
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        return dict(value)
    text = str(value).strip()
    if text.startswith("{"):
        return json.loads(text)
    out: dict[str, Any] = {}
    for item in text.split(","):
        if "=" not in item:
            raise ValueError(f"dataset_overrides item {item!r} is not key=value (or pass a JSON object)")
        key, raw = item.split("=", 1)
        try:
            out[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            out[key.strip()] = raw.strip()
    return out


def _config_dict(config: Any) -> dict:
    if is_dataclass(config):
        return {f.name: getattr(config, f.name) for f in fields(config)}
    if hasattr(config, "to_dict"):
        return dict(config.to_dict())
    return dict(vars(config))


def patch_tokenizer_from_config(cfg: dict) -> PatchTokenizer:
    """The token layout a data config produces (fields n_states, patch, height, width; nested sim ok)."""
    flat = dict(cfg)
    for nested in ("sim", "simulation", "tokens"):
        if isinstance(flat.get(nested), dict):
            flat = {**flat[nested], **flat}
    try:
        return PatchTokenizer(n_states=int(flat.get("n_states", 10)), patch=int(flat.get("patch", flat.get("patch_size", 2))),
                              height=int(flat.get("height", 12)), width=int(flat.get("width", 12)))
    except (TypeError, ValueError) as err:
        raise ValueError(f"cannot read the token layout from data config {cfg}: {err}") from err


# --------------------------------------------------------------------------------------------------- sources
def load_nca_rows(name: str, split: str = "train", overrides: dict | None = None, streaming: bool = True):
    """Return (dataset, data_config dict) for a builder config name, a local folder or a Hub id."""
    import datasets

    overrides = dict(overrides or {})
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ValueError(f"dataset {name!r} is a file; give a folder written by `nca generate --out DIR`")
        ds = datasets.load_dataset(str(path), split=split, streaming=streaming)
        return ds, {"source": str(path), **_folder_config(path), **overrides}
    if looks_like_hub_id(name):
        require_online(name, "dataset")
        ds = datasets.load_dataset(name, split=split, streaming=streaming)
        return ds, {"source": name, **overrides}
    from dataset_builder import load_nca_dataset
    from dataset_builder.configs import get_config

    config = get_config(name, **overrides)  # raises on unknown names / bad overrides, before any work
    ds = load_nca_dataset(name, split=split, streaming=streaming, **overrides)
    return ds, {"source": "dataset_builder", **_config_dict(config)}


def _folder_config(path: Path) -> dict:
    """Data config recorded by the materialiser (manifest.json), if any."""
    for candidate in ("manifest.json", "nca_config.json", "config.json"):
        file = path / candidate
        if file.is_file():
            try:
                data = json.loads(file.read_text())
            except json.JSONDecodeError:
                continue
            if isinstance(data, dict):
                cfg = data.get("config", data.get("data_config", data))
                if isinstance(cfg, dict):
                    return {k: v for k, v in cfg.items() if not isinstance(v, list | dict) or k in ("sim", "band")}
    return {}


# --------------------------------------------------------------------------------------------------- encoding
@dataclass
class RowEncoder:
    """Turns one row's nca_core ids into the model's ``input_ids`` and ``labels``."""

    patch_tokenizer: PatchTokenizer
    encoding: str = "patch"  # "patch" | "text"
    token_offset: int = 0
    max_length: int | None = None
    mask_first_frame: bool = False
    mask_delimiters: bool = False
    tokenizer: Any = None  # needed for the text encoding

    def __post_init__(self) -> None:
        if self.encoding not in ("patch", "text"):
            raise ValueError(f"encoding must be 'patch' or 'text', got {self.encoding!r}")
        if self.encoding == "text":
            if self.tokenizer is None:
                raise ValueError("the text encoding needs the model's tokenizer")
            self._text = TextEncoding(self.patch_tokenizer.n_states)
            self._sep = self.tokenizer(self._text.frame_sep, add_special_tokens=False)["input_ids"]

    def __call__(self, row: dict) -> dict:
        ids = np.asarray(row["input_ids"], dtype=np.int64)
        pt = self.patch_tokenizer
        if ids.size and (ids.min() < 0 or ids.max() >= pt.vocab_size):
            raise ValueError(f"a data row holds token id {int(ids.max())} outside the layout's {pt.vocab_size} ids "
                             f"(n_states={pt.n_states}, patch={pt.patch}): the data config does not match "
                             "the encoding; check dataset_overrides / the dataset's n_states and patch")
        if self.encoding == "text":
            return self._text_row(ids)
        per = pt.tokens_per_frame
        labels = ids.copy()
        if self.mask_first_frame:
            labels[:per] = IGNORE
        if self.mask_delimiters:
            labels[ids >= pt.num_patch_ids] = IGNORE
        input_ids = ids + self.token_offset
        labels = np.where(labels == IGNORE, IGNORE, labels + self.token_offset)
        if self.max_length:
            input_ids, labels = input_ids[: self.max_length], labels[: self.max_length]
        return {"input_ids": input_ids.tolist(), "labels": labels.tolist()}

    def _text_row(self, ids: np.ndarray) -> dict:
        frames = self.patch_tokenizer.decode(ids, allow_partial=True).numpy()
        input_ids: list[int] = []
        labels: list[int] = []
        for t, frame in enumerate(frames):
            if t:
                input_ids += self._sep
                labels += [IGNORE] * len(self._sep) if self.mask_delimiters else self._sep
            tok = self.tokenizer(self._text.encode_frame(frame), add_special_tokens=False)["input_ids"]
            input_ids += tok
            labels += [IGNORE] * len(tok) if (t == 0 and self.mask_first_frame) else tok
        if self.max_length:
            input_ids, labels = input_ids[: self.max_length], labels[: self.max_length]
        return {"input_ids": input_ids, "labels": labels}


def encode_dataset(ds, encoder: RowEncoder):
    """Map a (streaming) dataset of NCA rows to ``input_ids`` + ``labels`` only."""
    import datasets

    features = datasets.Features({"input_ids": datasets.List(datasets.Value("int64")),
                                  "labels": datasets.List(datasets.Value("int64"))})
    columns = list(ds.column_names) if getattr(ds, "column_names", None) else None
    return ds.map(encoder, remove_columns=columns, features=features)


def text_dataset(name: str, tokenizer, max_length: int, text_column: str = "text", split: str = "train",
                 config_name: str | None = None):
    """A text corpus (local folder/file or Hub id) as ``input_ids`` + ``labels`` (streaming)."""
    import datasets

    path = Path(name).expanduser()
    if path.is_file():
        ext = path.suffix.lstrip(".")
        builder = {"txt": "text", "jsonl": "json", "json": "json", "parquet": "parquet", "csv": "csv"}.get(ext)
        if builder is None:
            raise ValueError(f"text dataset file {name!r}: use .txt, .jsonl, .parquet or .csv")
        ds = datasets.load_dataset(builder, data_files=str(path), split=split, streaming=True)
    elif path.is_dir():
        ds = datasets.load_dataset(str(path), config_name, split=split, streaming=True)
    else:
        if looks_like_hub_id(name) or "/" not in name:
            require_online(name, "text dataset")
        ds = datasets.load_dataset(name, config_name, split=split, streaming=True)

    def tokenize(row: dict) -> dict:
        if text_column not in row:
            raise ValueError(f"text dataset {name!r} has no column {text_column!r}; set text_column")
        ids = tokenizer(row[text_column], add_special_tokens=False)["input_ids"][: max_length - 1]
        ids = ids + [tokenizer.eos_token_id]
        return {"input_ids": ids, "labels": list(ids)}

    features = datasets.Features({"input_ids": datasets.List(datasets.Value("int64")),
                                  "labels": datasets.List(datasets.Value("int64"))})
    return ds.map(tokenize, remove_columns=list(ds.column_names or []), features=features)


def interleave(nca_ds, text_ds, text_ratio: float, seed: int):
    """Mix NCA and text rows: a fraction ``text_ratio`` of rows is text (both streams restart when exhausted)."""
    import datasets

    if not 0.0 < text_ratio < 1.0:
        raise ValueError(f"text_ratio must lie strictly between 0 and 1, got {text_ratio}")
    return datasets.interleave_datasets([nca_ds, text_ds], probabilities=[1.0 - text_ratio, text_ratio], seed=seed,
                                        stopping_strategy="all_exhausted")


def write_sample_folder(folder: str | Path, name: str = "tiny", num_rows: int = 96, split: str = "train",
                        **overrides: Any) -> Path:
    """Write ``num_rows`` rows of builder config ``name`` as a parquet folder (with a manifest holding the data
    config), the layout `nca generate` writes: quick trials and tests then skip the generator's start-up."""
    import datasets

    from dataset_builder import get_config, load_nca_dataset

    folder = Path(folder)
    (folder / "data").mkdir(parents=True, exist_ok=True)
    stream = load_nca_dataset(name, split=split, **overrides)
    rows = [row for _, row in zip(range(num_rows), stream)]
    datasets.Dataset.from_list(rows).to_parquet(str(folder / "data" / f"{split}-00000-of-00001.parquet"))
    (folder / "manifest.json").write_text(json.dumps({"config": get_config(name, **overrides).to_dict()}))
    return folder
