"""The columns of a dataset row, as Arrow schema and as ``datasets`` features (kept in one place)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

# column → (arrow type, datasets dtype, description for the card)
COLUMNS: dict[str, tuple[pa.DataType, str, str]] = {
    "input_ids": (pa.list_(pa.int32()), "int32", "patch-token ids: [frame_start] + patch ids + [frame_end] per frame"),
    "family": (pa.string(), "string", "rule family"),
    "rule_spec": (pa.string(), "string", "canonical JSON rule spec (reproduces the rule exactly)"),
    "rule_seed": (pa.int64(), "int64", "the rule's own seed (neural weights, lookup tables), -1 if it has none"),
    "init_seed": (pa.int64(), "int64", "initial-condition seed of the trajectory"),
    "score_seed": (pa.int64(), "int64", "initial-condition seed of the separate complexity-scoring rollout"),
    "complexity": (pa.float64(), "float64", "rule complexity score (gzip ratio) on `complexity_scale`"),
    "complexity_scale": (pa.string(), "string", "scale of `complexity` (gzip-int32-ref = the reference's)"),
    "complexity_band": (pa.string(), "string", "the band rules were kept in, `scale:(lower,upper)`, strict"),
    "cells_gzip": (pa.float64(), "float64", "gzip ratio of this trajectory's raw cells (scale gzip-cells)"),
    "entropy": (pa.float64(), "float64", "Shannon entropy (bits) of the state histogram of the trajectory"),
    "activity": (pa.float64(), "float64", "mean fraction of cells changing per step"),
    "period": (pa.int64(), "int64", "attractor period within the horizon (1 = fixed point, 0 = none seen)"),
    "transient": (pa.int64(), "int64", "first frame of the attractor (0 when none seen)"),
    "distinct_states": (pa.int64(), "int64", "number of distinct states used"),
    "cluster": (pa.int64(), "int64", "behaviour-cluster id of the rule (near-duplicate rules share it)"),
    "split": (pa.string(), "string", "split of the rule (train / validation / test never share a rule)"),
}
ARROW_SCHEMA = pa.schema([(name, typ) for name, (typ, _, _) in COLUMNS.items()])


def features():
    import datasets

    out = {}
    for name, (_, dtype, _) in COLUMNS.items():
        out[name] = datasets.List(datasets.Value(dtype)) if name == "input_ids" else datasets.Value(dtype)
    return datasets.Features(out)


def dataset_info_yaml() -> list[dict[str, Any]]:
    """The ``dataset_info.features`` block of a dataset card."""
    return features()._to_yaml_list()


def public_row(row: dict[str, Any]) -> dict[str, Any]:
    """A generated row restricted to the stored columns (drops e.g. the content hash)."""
    out = {k: row[k] for k in COLUMNS}
    ids = out["input_ids"]
    out["input_ids"] = ids.tolist() if isinstance(ids, np.ndarray) else list(ids)
    return out


def rows_to_table(rows: list[dict[str, Any]]) -> pa.Table:
    columns = {}
    for name, (typ, _, _) in COLUMNS.items():
        if name == "input_ids":
            if rows:
                flat = np.concatenate([np.asarray(r[name], dtype=np.int32) for r in rows])
                offsets = np.concatenate([[0], np.cumsum([len(r[name]) for r in rows])]).astype(np.int32)
                columns[name] = pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat, type=pa.int32()))
            else:
                columns[name] = pa.array([], type=typ)
        else:
            columns[name] = pa.array([r[name] for r in rows], type=typ)
    return pa.table(columns, schema=ARROW_SCHEMA)
