"""The generation core: one *shard* (a work unit) of a split → its rows, deterministically.

A shard is a pure function of (config, split, shard index, size, excluded hashes): it draws rounds of
candidate rules from seeds derived from those, keeps the rules of its split (see :func:`rule_split`) whose
complexity lies in the band, rolls them out in one batch, tokenises, and applies the filters in order —
trivial, exact duplicate (content hash), behaviour-cluster cap — until ``size`` rows are kept. Nothing
depends on which process or machine runs it, so any sharding of the work gives the same rows.

Pipeline per round (all batched):
    sample ``candidates_per_round`` rules of this split → score_rules (separate reference rollout) → band
    → rollout (sequences_per_rule initial conditions each) → is_trivial → tokens → content hash
    → behaviour clusters → cap per cluster → labels
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

import nca_core as nc
from nca_core.complexity import score_rules
from nca_core.filters import behaviour_fingerprints, cap_per_cluster, cluster_ids, content_hash, is_trivial
from nca_core.labels import sequence_labels

from .configs import SPLIT_FRACTIONS, SPLITS, NCADataConfig

FILTER_COUNTERS = ("candidates", "out_of_band", "trivial", "duplicate", "cluster_cap", "kept")


def derive_seed(*parts: Any) -> int:
    """A 62-bit seed from any parts (sha256 of their repr): independent streams for independent names."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**62 - 1)


def rule_split(spec: dict) -> str:
    """The split a rule belongs to, from a hash of its canonical spec: splits never share a rule."""
    text = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    u = int.from_bytes(hashlib.sha256(b"split|" + text.encode()).digest()[:8], "little") / 2**64
    edge = 0.0
    for split in SPLITS:
        edge += SPLIT_FRACTIONS[split]
        if u < edge:
            return split
    return SPLITS[-1]


def num_shards(num_sequences: int, shard_size: int) -> int:
    return max(1, -(-num_sequences // shard_size)) if num_sequences > 0 else 0


def shard_sizes(num_sequences: int, shard_size: int) -> list[int]:
    """Rows of each shard: full shards, then the remainder (a shard's rows do not depend on the total)."""
    k = num_shards(num_sequences, shard_size)
    return [min(shard_size, num_sequences - i * shard_size) for i in range(k)]


@dataclass
class FilterStats:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FILTER_COUNTERS, 0))

    def add(self, other: dict[str, int]) -> None:
        for k, v in other.items():
            self.counts[k] = self.counts.get(k, 0) + int(v)


def _sample_family(family: str, count: int, seed: int, config: NCADataConfig) -> list[dict]:
    knobs = dict(config.family_knobs.get(family, {}))
    if family == "neural" and set(knobs) <= {"preset", "tau"}:
        # Fast path, same specs as nc.sample_rules would validate to: a neural rule is its weight seed.
        seeds = np.random.default_rng([seed, 0x4E]).integers(0, 2**62, size=count)
        base = {"family": "neural", "preset": knobs.get("preset", "paper"), "n_states": config.n_states}
        if "tau" in knobs:
            base["tau"] = knobs["tau"]
        return [nc.validate_spec({**base, "seed": int(s)}) for s in seeds]
    return nc.sample_rules(family, count, seed, n_states=config.n_states, **knobs)


def sample_candidates(config: NCADataConfig, split: str, shard: int, round_index: int,
                      count: int | None = None) -> list[dict]:
    """``count`` (default ``candidates_per_round``) rule specs of ``split``, deterministic in
    (config, split, shard, round, count)."""
    want = config.candidates_per_round if count is None else count
    out: list[dict] = []
    weights = np.asarray(config.family_weights or [1.0] * len(config.families), dtype=np.float64)
    weights = weights / weights.sum()
    draw = 0
    while len(out) < want:
        seed = derive_seed("candidates", config.seed, split, shard, round_index, draw)
        batch = max(want, 64) if split == "train" else max(want * 4, 256)
        family_of = np.random.default_rng([seed, 1]).choice(len(config.families), size=batch, p=weights)
        picked: list[dict | None] = [None] * batch
        for f, family in enumerate(config.families):
            where = np.flatnonzero(family_of == f)
            if len(where):
                for i, spec in zip(where, _sample_family(family, len(where), derive_seed(seed, family), config)):
                    picked[i] = spec
        out.extend(s for s in picked if rule_split(s) == split)
        draw += 1
        if draw > 10_000:
            raise RuntimeError(f"could not draw rules for split {split!r}: the rule space of {config.families} "
                               "seems too small to give every split its own rules")
    return out[:want]


class ShardGenerator:
    """Rows of one shard. ``exclude``: content hashes that must not appear (e.g. rows of earlier shards)."""

    def __init__(self, config: NCADataConfig, split: str, shard: int, size: int, *,
                 exclude: set[str] | frozenset[str] = frozenset(), device: str = "auto") -> None:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
        self.config, self.split, self.shard, self.size = config, split, shard, size
        self.exclude = exclude
        self.device = device
        self.stats = FilterStats()
        self.timings: dict[str, float] = {}  # seconds per stage (for benchmarks; not part of the data)

    def _tick(self, stage: str, since: float) -> float:
        now = time.perf_counter()
        self.timings[stage] = self.timings.get(stage, 0.0) + now - since
        return now

    def rows(self) -> Iterator[dict[str, Any]]:
        cfg = self.config
        tok = cfg.tokenizer
        m = cfg.sequences_per_rule
        band_label = cfg.band.label()
        seen: set[str] = set()
        cluster_counts: dict[int, int] = {}
        pending: list[tuple[dict, float, int]] = []  # scored in-band rules not yet rolled out, in order
        produced = 0
        round_index = 0
        while produced < self.size:
            # rules for the rows still missing (+5% for the filters), scored in rounds sized by the pass rate
            need = min(-(-(self.size - produced) * 21 // (20 * m)) + 2, cfg.candidates_per_round)
            while len(pending) < need:
                t = time.perf_counter()
                c = self.stats.counts
                rate = (c["candidates"] - c["out_of_band"] + 1) / (c["candidates"] + 2) if c["candidates"] else 0.5
                count = min(cfg.candidates_per_round, max(16, int((need - len(pending)) / max(rate, 0.02) * 1.1)))
                specs = sample_candidates(cfg, self.split, self.shard, round_index, count)
                rseed = derive_seed("round", cfg.seed, self.split, self.shard, round_index)
                score_seeds = [derive_seed(rseed, "score", j) for j in range(len(specs))]
                round_index += 1
                t = self._tick("sample", t)
                scores = score_rules(specs, score_seeds, scale=cfg.band_scale, device=self.device,
                                     n_states=cfg.n_states)
                t = self._tick("score", t)
                in_band = [j for j, sc in enumerate(scores) if cfg.band.contains(float(sc))]
                self.stats.add({"candidates": len(specs), "out_of_band": len(specs) - len(in_band)})
                pending.extend((specs[j], float(scores[j]), score_seeds[j]) for j in in_band)
            t = time.perf_counter()
            batch, pending = pending[:need], pending[need:]
            rule_idx = [j for j in range(len(batch)) for _ in range(m)]
            seq_specs = [batch[j][0] for j in rule_idx]
            init_seeds = [derive_seed(batch[j][2], "init", k) for j in range(len(batch)) for k in range(m)]
            frames = nc.rollout(seq_specs, init_seeds, cfg.sim_config, device=self.device).cpu()
            t = self._tick("rollout", t)
            keep = np.ones(len(seq_specs), dtype=bool)
            if cfg.drop_trivial:
                trivial = is_trivial(frames)
                self.stats.add({"trivial": int(trivial.sum())})
                keep &= ~trivial
            ids = tok.encode(frames, max_tokens=cfg.max_tokens).to(torch.int32).numpy()
            hashes = [""] * len(seq_specs)
            dup = 0
            for i in np.flatnonzero(keep):
                h = content_hash(ids[i])
                hashes[i] = h
                if cfg.dedup and (h in seen or h in self.exclude):
                    keep[i] = False
                    dup += 1
                else:
                    seen.add(h)
            self.stats.add({"duplicate": dup})
            t = self._tick("tokens+trivial+dedup", t)
            kept = np.flatnonzero(keep)
            if not len(kept):
                continue
            # behaviour clusters of the rules that still have sequences (one fingerprint per rule)
            rules_left = sorted({rule_idx[i] for i in kept})
            fps = behaviour_fingerprints([batch[j][0] for j in rules_left], cfg.height, cfg.width, device=self.device)
            cluster_of = dict(zip(rules_left, cluster_ids(fps).tolist()))
            clusters = np.array([cluster_of[rule_idx[i]] for i in kept], dtype=np.int64)
            t = self._tick("clusters", t)
            if cfg.cluster_cap is not None:
                capped = cap_per_cluster(clusters, cfg.cluster_cap, cluster_counts)
                self.stats.add({"cluster_cap": int((~capped).sum())})
                kept, clusters = kept[capped], clusters[capped]
            kept, clusters = kept[: self.size - produced], clusters[: self.size - produced]
            if not len(kept):
                continue
            labels = sequence_labels([seq_specs[i] for i in kept], [init_seeds[i] for i in kept], frames[kept],
                                     cfg.n_states, scores=[batch[rule_idx[i]][1] for i in kept],
                                     scale=cfg.band_scale)
            self.stats.add({"kept": len(kept)})
            t = self._tick("labels", t)
            for i, lab, cl in zip(kept, labels, clusters):
                yield {"input_ids": ids[i], **lab, "score_seed": batch[rule_idx[i]][2], "cluster": int(cl),
                       "complexity_band": band_label, "split": self.split, "content_hash": hashes[i]}
            produced += len(kept)


def generate_shard(config: NCADataConfig, split: str, shard: int, size: int, *,
                   exclude: set[str] | frozenset[str] = frozenset(), device: str = "auto"
                   ) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """All rows of one shard and its filter counts."""
    gen = ShardGenerator(config, split, shard, size, exclude=exclude, device=device)
    rows = list(gen.rows())
    return rows, gen.stats.counts
