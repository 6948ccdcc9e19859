"""Labels per sequence (the seed project's create_labels): everything needed to understand a row and to
reproduce it — family, rule spec, seeds — plus its measures, each score with its scale."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .complexity import activity, counts_entropy, gzip_scores, period_and_transient, state_counts
from .rules import RuleSpec, spec_to_json

LABEL_FIELDS = (
    "family", "rule_spec", "rule_seed", "init_seed", "complexity", "complexity_scale", "cells_gzip",
    "entropy", "activity", "period", "transient", "distinct_states",
)


def sequence_labels(specs: Sequence[RuleSpec], seeds: Sequence[int], frames: torch.Tensor | np.ndarray,
                    n_states: int, scores: Sequence[float] | None = None,
                    scale: str = "gzip-int32-ref") -> list[dict]:
    """One label dict per trajectory. ``scores`` are the rule scores on ``scale`` (e.g. from
    :func:`nca_core.complexity.score_rules`); without them the trajectory itself is scored on ``scale``."""
    frames = torch.as_tensor(frames)
    if len(specs) != frames.shape[0] or len(seeds) != frames.shape[0]:
        raise ValueError(f"labels need one spec and seed per trajectory: {len(specs)} specs, {len(seeds)} seeds, "
                         f"{frames.shape[0]} trajectories")
    if scores is None:
        scores = gzip_scores(frames, scale)
    cells = gzip_scores(frames, "gzip-cells")
    counts = state_counts(frames, n_states)
    ent = counts_entropy(counts)
    distinct = (counts > 0).sum(-1).cpu().numpy()
    act = activity(frames)
    period, transient = period_and_transient(frames)
    rows = []
    for i, spec in enumerate(specs):
        rows.append({
            "family": spec["family"],
            "rule_spec": spec_to_json(spec),
            "rule_seed": int(spec.get("seed", -1)),
            "init_seed": int(seeds[i]),
            "complexity": float(scores[i]),
            "complexity_scale": scale,
            "cells_gzip": float(cells[i]),
            "entropy": float(ent[i]),
            "activity": float(act[i]),
            "period": int(period[i]),
            "transient": int(transient[i]),
            "distinct_states": int(distinct[i]),
        })
    return rows
