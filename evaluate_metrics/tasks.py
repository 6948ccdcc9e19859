"""Versioned, deterministic held-out task sets for the four NCA tasks.

A task set is data: a named spec (:class:`TaskSetSpec`, e.g. ``nca-eval-v1``) → rules → trajectories →
examples, all derived from explicit seeds, so the same name and grid settings give the same examples on
any machine. Rules are held out from training in two ways:

- they are drawn from a seed namespace no data config uses (``EVAL_RULE_SEED``), and
- they must lie in the share of the rule space that ``dataset_builder`` keeps for its ``test`` split
  (:func:`is_heldout`, a hash of the canonical spec), so no training split of any data config holds them.
  This explicit exclusion is what matters for small rule spaces (life-like B/S rules, cyclic CA).

Every family appears, each in three complexity bands of the reference gzip score (``low`` < 0.3 ≤
``mid`` < 0.5 ≤ ``high``); cells that a family cannot fill within ``max_candidates`` draws are reported
in ``coverage``. Examples are interleaved over (family, band) cells so any prefix is balanced.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

import nca_core as nc
from nca_core.complexity import score_rules
from nca_core.rules import num_states

TASKS = ("next_step", "long_horizon", "rule_id", "reverse")
EVAL_RULE_SEED = 7_340_033_000_001  # rule draws of evaluation; data configs use small seeds
EVAL_INIT_SEED = 9_007_000_000_000  # base of evaluation initial-condition seeds
HELDOUT_SPLIT = "test"  # dataset_builder's split whose rules are held out of training
HELDOUT_SHARE = 0.05  # its share of the rule space (dataset_builder.configs.SPLIT_FRACTIONS["test"])
BANDS = (("low", 0.0, 0.3), ("mid", 0.3, 0.5), ("high", 0.5, float("inf")))


def is_heldout(spec: dict | str) -> bool:
    """True for the rule specs reserved for evaluation: those ``dataset_builder`` assigns to its ``test``
    split (a hash of the canonical spec, :func:`dataset_builder.generate.rule_split`), which no training
    split ever contains. This explicit exclusion is what keeps small rule spaces (life-like B/S rules,
    cyclic CA) honest; for the large ones the separate seed namespace already makes collisions negligible."""
    return _rule_split(nc.validate_spec(spec)) == HELDOUT_SPLIT


def _rule_split(spec: dict) -> str:
    try:
        from dataset_builder.generate import rule_split
    except ImportError:  # evaluate_metrics installed without the data builder: the same formula
        text = json.dumps(spec, sort_keys=True, separators=(",", ":"))
        u = int.from_bytes(hashlib.sha256(b"split|" + text.encode()).digest()[:8], "little") / 2**64
        return HELDOUT_SPLIT if u >= 1.0 - HELDOUT_SHARE else "train"
    return rule_split(spec)


def band_of(score: float) -> str:
    for name, low, high in BANDS:
        if low <= score < high:
            return name
    return BANDS[-1][0]


@dataclass(frozen=True)
class TaskSetSpec:
    """What a task set contains. Grid size and alphabet follow the model (``for_model``)."""

    name: str = "nca-eval-v1"
    version: str = "1.0.0"
    families: tuple[str, ...] = ("neural", "lifelike", "lenia", "smoothlife", "symbolic")
    rules_per_cell: int = 4  # rules per (family, band)
    max_candidates: int = 256  # held-out rules examined per family before giving up on a band
    n_states: int = 10
    height: int = 12
    width: int = 12
    burn_in: int = 10
    context_frames: int = 8  # next_step / long_horizon: frames shown
    horizon: int = 8  # long_horizon: frames to roll out (next_step scores the first)
    candidates: int = 4  # rule_id: K candidate rules, each with a demonstration
    demo_frames: int = 6  # rule_id / reverse: frames of each demonstration
    query_frames: int = 4  # rule_id: frames of the query trajectory
    reverse_steps: int = 1  # reverse: steps between the initial and the given final grid
    threshold: float = 0.5  # long_horizon: accuracy level of horizon_below_threshold

    def __post_init__(self) -> None:
        unknown = set(self.families) - set(nc.FAMILIES)
        if unknown:
            raise ValueError(f"unknown families {sorted(unknown)}; choose from {sorted(nc.FAMILIES)}")
        for key in ("rules_per_cell", "context_frames", "horizon", "demo_frames", "reverse_steps"):
            if getattr(self, key) < 1:
                raise ValueError(f"task set {key} must be >= 1, got {getattr(self, key)}")
        if self.candidates < 2:
            raise ValueError(f"rule_id needs >= 2 candidates, got {self.candidates}")
        if self.query_frames < 2:
            raise ValueError(f"rule_id query needs >= 2 frames, got {self.query_frames}")

    @property
    def label(self) -> str:
        """Name plus the settings a model forced (e.g. ``nca-eval-v1@8x8s4``)."""
        base = TaskSetSpec()
        if (self.height, self.width, self.n_states) == (base.height, base.width, base.n_states):
            return self.name
        return f"{self.name}@{self.height}x{self.width}s{self.n_states}"

    def to_dict(self) -> dict:
        out = asdict(self)
        out["families"] = list(self.families)
        return out

    def for_model(self, encoding: dict, max_frames: int | None = None) -> TaskSetSpec:
        """The spec on the model's grid and alphabet; ``max_frames`` (frames the model was trained on)
        shrinks contexts so that no prompt is longer than the training sequences."""
        spec = replace(self, n_states=int(encoding["n_states"]), height=int(encoding["height"]),
                       width=int(encoding["width"]))
        if not max_frames:
            return spec
        if max_frames < 3:
            raise ValueError(f"the model sees at most {max_frames} frames; the tasks need at least 3 "
                             "(train with longer sequences or a larger max_position_embeddings)")
        if max_frames < spec.context_frames + spec.horizon:
            ctx = max(1, max_frames // 2)
            spec = replace(spec, context_frames=ctx, horizon=max(1, max_frames - ctx))
        query = min(spec.query_frames, max(2, max_frames // 3))
        demo = min(spec.demo_frames, max_frames - query, max_frames - 1 - spec.reverse_steps)
        if demo < 1:
            raise ValueError(f"the model sees at most {max_frames} frames: too few for a demonstration plus "
                             f"{spec.reverse_steps} reverse step(s); lower reverse_steps")
        return replace(spec, query_frames=query, demo_frames=demo)


TASK_SETS: dict[str, TaskSetSpec] = {"nca-eval-v1": TaskSetSpec()}


def get_task_set_spec(name: str = "nca-eval-v1", **overrides: Any) -> TaskSetSpec:
    if name not in TASK_SETS:
        raise ValueError(f"unknown task set {name!r}; choose one of {sorted(TASK_SETS)}")
    fields = set(TaskSetSpec.__dataclass_fields__)
    bad = set(overrides) - fields
    if bad:
        raise ValueError(f"unknown task set field(s) {sorted(bad)}; valid: {sorted(fields)}")
    return replace(TASK_SETS[name], **{k: v for k, v in overrides.items() if v is not None})


@dataclass
class TaskSet:
    """Examples per task (lists of dicts holding numpy uint8 grids) plus provenance."""

    spec: TaskSetSpec
    rules: list[dict]  # {"rule_spec", "family", "band", "complexity"}
    examples: dict[str, list[dict]] = field(default_factory=dict)
    coverage: dict[str, dict[str, int]] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """A short hash of the settings and every example's content: equal sets give equal strings."""
        h = hashlib.sha256(json.dumps(self.spec.to_dict(), sort_keys=True).encode())
        for task in sorted(self.examples):
            for ex in self.examples[task]:
                for key in sorted(ex):
                    value = ex[key]
                    h.update(value.tobytes() if isinstance(value, np.ndarray) else repr(value).encode())
        return h.hexdigest()[:16]

    def head(self, num_examples: int | None) -> TaskSet:
        if num_examples is None:
            return self
        return TaskSet(self.spec, self.rules, {k: v[:num_examples] for k, v in self.examples.items()}, self.coverage)


# ------------------------------------------------------------------------------------ building
def _sim(spec: TaskSetSpec, frames: int) -> nc.SimConfig:
    return nc.SimConfig(height=spec.height, width=spec.width, burn_in=spec.burn_in, frames=frames)


def select_rules(spec: TaskSetSpec, device: str = "cpu") -> tuple[list[dict], dict[str, dict[str, int]]]:
    """Held-out rules, ``rules_per_cell`` per (family, band), interleaved so that any prefix is balanced."""
    cells: dict[tuple[str, str], list[dict]] = {}
    for family in spec.families:
        # raw draws: enough that about max_candidates of them are held out (HELDOUT_SHARE of the space)
        draws = int(spec.max_candidates / HELDOUT_SHARE * 1.25)
        specs = nc.sample_rules(family, draws, EVAL_RULE_SEED, n_states=spec.n_states)
        if family == "neural":  # the paper's rules, at the alphabet of the model
            specs = [nc.validate_spec({**s, "n_states": spec.n_states}) for s in specs]
        pool = [s for s in specs if num_states(s) <= spec.n_states and is_heldout(s)][: spec.max_candidates]
        seen: set[str] = set()
        step = max(16, 8 * spec.rules_per_cell)  # small chunks: scoring neural rules is the slow part
        for start in range(0, len(pool), step):
            chunk = [s for s in pool[start : start + step] if nc.spec_to_json(s) not in seen]
            if not chunk:
                continue
            seen.update(nc.spec_to_json(s) for s in chunk)
            scores = score_rules(chunk, [EVAL_INIT_SEED - 1] * len(chunk), device=device, n_states=10)
            alive = _alive(chunk, spec, device)
            for s, score, ok in zip(chunk, scores, alive):
                band = band_of(float(score))
                bucket = cells.setdefault((family, band), [])
                if ok and len(bucket) < spec.rules_per_cell:
                    bucket.append({"rule_spec": nc.spec_to_json(s), "family": family, "band": band,
                                   "complexity": round(float(score), 6)})
            if all(len(cells.get((family, b), [])) >= spec.rules_per_cell for b, _, _ in BANDS):
                break
    coverage = {f: {b: len(cells.get((f, b), [])) for b, _, _ in BANDS} for f in spec.families}
    # cell c ↦ (family c mod F, band c mod 3): with F and 3 coprime every cell comes once per round, and
    # any prefix spreads over families and bands alike
    nf, nb = len(spec.families), len(BANDS)
    order = [(spec.families[c % nf], BANDS[c % nb][0]) for c in range(nf * nb)]
    if len(set(order)) < nf * nb:  # F a multiple of 3: fall back to a plain sweep
        order = [(f, b) for b, _, _ in BANDS for f in spec.families]
    rules = []
    for k in range(spec.rules_per_cell):
        for family, band in order:
            bucket = cells.get((family, band), [])
            if k < len(bucket):
                rules.append(bucket[k])
    return rules, coverage


def _alive(specs: list[dict], spec: TaskSetSpec, device: str) -> np.ndarray:
    """Rules whose evaluation trajectory is not a uniform grid right after burn-in."""
    frames = nc.rollout(specs, [EVAL_INIT_SEED] * len(specs), _sim(spec, 1), device=device)[:, 0].cpu()
    flat = frames.reshape(len(specs), -1)
    return (flat != flat[:, :1]).any(1).numpy()


def build_task_set(name: str = "nca-eval-v1", spec: TaskSetSpec | None = None, device: str = "cpu",
                   **overrides: Any) -> TaskSet:
    """Build the examples of every task from the named spec (deterministic)."""
    spec = spec or get_task_set_spec(name, **overrides)
    return _build_cached(spec, str(device))


@functools.lru_cache(maxsize=4)
def _build_cached(spec: TaskSetSpec, device: str) -> TaskSet:
    rules, coverage = select_rules(spec, device)
    if not rules:
        raise ValueError(f"task set {spec.label}: no held-out rule passed; raise max_candidates")
    specs = [json.loads(r["rule_spec"]) for r in rules]
    count = len(rules)
    init = [EVAL_INIT_SEED + i for i in range(count)]
    examples: dict[str, list[dict]] = {}

    # next_step / long_horizon: context N frames, then the true continuation of H frames
    frames = nc.rollout(specs, init, _sim(spec, spec.context_frames + spec.horizon), device=device).cpu().numpy()
    examples["long_horizon"] = [
        {**_meta(rules[i], i), "init_seed": init[i], "context": frames[i, : spec.context_frames],
         "target": frames[i, spec.context_frames :]} for i in range(count)]
    examples["next_step"] = [
        {**ex, "target": ex["target"][:1]} for ex in examples["long_horizon"]]

    # rule_id: K candidates (the true rule, one of its family if possible, the rest from other families)
    query = nc.rollout(specs, [s + 10_000_000 for s in init], _sim(spec, spec.query_frames), device=device).cpu().numpy()
    demo_of = nc.rollout(specs, [s + 20_000_000 for s in init], _sim(spec, spec.demo_frames), device=device).cpu().numpy()
    examples["rule_id"] = []
    for i in range(count):
        rng = np.random.default_rng([EVAL_RULE_SEED, i, 17])
        same = [j for j in range(count) if j != i and rules[j]["family"] == rules[i]["family"]]
        other = [j for j in range(count) if rules[j]["family"] != rules[i]["family"]]
        picks = [int(rng.choice(same))] if same else []
        rest = [j for j in other + same if j not in picks]
        picks += [int(j) for j in rng.choice(rest, size=min(len(rest), spec.candidates - 1 - len(picks)), replace=False)]
        order = [i, *picks]
        rng.shuffle(order)
        examples["rule_id"].append({
            **_meta(rules[i], i), "init_seed": init[i] + 10_000_000, "query": query[i],
            "candidates": [rules[j]["rule_spec"] for j in order],
            "candidate_families": [rules[j]["family"] for j in order],
            "demos": np.stack([demo_of[j] for j in order]), "answer": order.index(i)})

    # reverse: deterministic (argmax) rules; a demonstration, then the final grid; predict a predecessor
    det = [_deterministic(s) for s in specs]
    rev = nc.rollout(det, [s + 30_000_000 for s in init], _sim(spec, spec.reverse_steps + 1), device=device).cpu().numpy()
    rdemo = nc.rollout(det, [s + 40_000_000 for s in init], _sim(spec, spec.demo_frames), device=device).cpu().numpy()
    examples["reverse"] = [
        {**_meta(rules[i], i), "rule_spec": nc.spec_to_json(det[i]), "init_seed": init[i] + 30_000_000,
         "steps": spec.reverse_steps, "demo": rdemo[i], "initial": rev[i, 0], "final": rev[i, -1]}
        for i in range(count)]
    return TaskSet(spec, rules, examples, coverage)


def _deterministic(spec: dict) -> dict:
    return nc.validate_spec({**spec, "tau": 0.0}) if spec["family"] == "neural" else spec


def _meta(rule: dict, i: int) -> dict:
    spec = json.loads(rule["rule_spec"])
    return {"id": i, "family": rule["family"], "band": rule["band"], "complexity": rule["complexity"],
            "rule_spec": rule["rule_spec"], "n_states": num_states(spec)}


# ------------------------------------------------------------------------------------- export
def _row(example: dict) -> dict:
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in example.items()}


def export_task_set(task_set: TaskSet, out_dir: str | Path) -> Path:
    """Write the task set as a dataset folder: one parquet config per task, a card with ``configs:``.
    Load it with ``datasets.load_dataset(out_dir, "rule_id", split="test")``."""
    import datasets

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    configs = []
    for task in TASKS:
        rows = [_row(e) for e in task_set.examples.get(task, [])]
        if not rows:
            continue
        (out / task).mkdir(exist_ok=True)
        datasets.Dataset.from_list(rows).to_parquet(str(out / task / "test-00000-of-00001.parquet"))
        configs.append(f"- config_name: {task}\n  data_files:\n  - split: test\n    path: {task}/test-*.parquet")
    meta = {"task_set": task_set.spec.label, "fingerprint": task_set.fingerprint(), **task_set.spec.to_dict(),
            "coverage": task_set.coverage,
            "heldout": f"dataset_builder rule_split == {HELDOUT_SPLIT!r}", "eval_rule_seed": EVAL_RULE_SEED}
    (out / "task_set.json").write_text(json.dumps(meta, indent=2) + "\n")
    coverage = "\n".join(f"| {f} | " + " | ".join(str(c[b]) for b, _, _ in BANDS) + " |"
                         for f, c in task_set.coverage.items())
    (out / "README.md").write_text(f"""---
configs:
{chr(10).join(configs)}
tags:
- cellular-automata
- evaluation
license: apache-2.0
---

# {task_set.spec.label}: held-out NCA evaluation tasks

Deterministic evaluation set (version {task_set.spec.version}) for the four NCA tasks: `next_step`,
`long_horizon`, `rule_id`, `reverse` (definitions: `shared/spec/tasks.md`). Rules come from a seed namespace
no training config uses and from the share of the rule space that `dataset_builder` keeps for its `test`
split (`evaluate_metrics.tasks.is_heldout`), which no training split contains.
Grids are {task_set.spec.height}×{task_set.spec.width}, states < {task_set.spec.n_states}. Settings: `task_set.json`.

Columns: `family`, `band` (reference gzip score: low < 0.3 ≤ mid < 0.5 ≤ high), `complexity`, `rule_spec`
(nca_core JSON), `n_states`, `init_seed`; next_step / long_horizon: `context` (N frames), `target` (frames to
predict); rule_id: `query`, `candidates` (rule specs), `candidate_families`, `demos` (one trajectory per
candidate), `answer` (index of the true rule); reverse: `demo`, `final` (given), `initial` (true), `steps`
(the rule is deterministic: neural rules use tau 0).

Rules per family and band:

| family | {" | ".join(b for b, _, _ in BANDS)} |
|---|{"---|" * len(BANDS)}
{coverage}
""")
    return out
