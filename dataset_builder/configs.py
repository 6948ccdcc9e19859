"""Named data configurations: what rules, which complexity band, which grid and token layout.

``get_config(name, **overrides)`` returns an :class:`NCADataConfig`; every field can be overridden, and a
few aliases are accepted (``grid=16`` sets height and width, ``band=(0.3, 0.4)`` sets both bounds,
``states`` is ``n_states``). Overrides that contradict each other or the config raise a ``ValueError``
that says what to change.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from nca_core import FAMILIES, SimConfig
from nca_core.complexity import SCALES, Band
from nca_core.tokens import PatchTokenizer

SPLITS = ("train", "validation", "test")
# A rule belongs to exactly one split, chosen by a hash of its canonical spec (see generate.rule_split):
# train / validation / test can never share a rule, whatever the seeds.
SPLIT_FRACTIONS = {"train": 0.90, "validation": 0.05, "test": 0.05}


@dataclass
class NCADataConfig:
    """Everything that determines a dataset's rows, apart from the number of rows."""

    name: str = "paper"
    families: tuple[str, ...] = ("neural",)
    family_weights: tuple[float, ...] | None = None  # mixing weights of ``families`` (None: equal)
    family_knobs: dict[str, dict[str, Any]] = field(default_factory=dict)  # knobs for nca_core.sample_rules
    n_states: int = 10
    height: int = 12
    width: int = 12
    patch: int = 2
    burn_in: int = 10
    frames: int = 27
    max_tokens: int | None = 1024  # cut each row to this many ids (the reference cuts 1,026 → 1,024)
    band_lower: float = 0.5
    band_upper: float = 1.0
    band_scale: str = "gzip-int32-ref"
    sequences_per_rule: int = 1  # trajectories (initial conditions) per accepted rule
    drop_trivial: bool = True
    dedup: bool = True
    cluster_cap: int | None = None  # keep at most this many sequences per behaviour cluster (per shard)
    shard_size: int = 10_000  # rows per shard / work unit
    candidates_per_round: int = 4096  # rules sampled and scored per batch
    seed: int = 0
    description: str = ""

    def __post_init__(self) -> None:
        self.families = tuple(self.families)
        if self.family_weights is not None:
            self.family_weights = tuple(float(w) for w in self.family_weights)
        self.validate()

    # ------------------------------------------------------------------ derived objects
    @property
    def band(self) -> Band:
        return Band(self.band_lower, self.band_upper, self.band_scale)

    @property
    def sim_config(self) -> SimConfig:
        return SimConfig(height=self.height, width=self.width, burn_in=self.burn_in, frames=self.frames)

    @property
    def tokenizer(self) -> PatchTokenizer:
        return PatchTokenizer(self.n_states, self.patch, self.height, self.width)

    @property
    def sequence_length(self) -> int:
        full = self.frames * self.tokenizer.tokens_per_frame
        return full if self.max_tokens is None else min(full, self.max_tokens)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["families"] = list(self.families)
        out["family_weights"] = None if self.family_weights is None else list(self.family_weights)
        return out

    def fingerprint(self) -> str:
        """A short hash of every field that changes the rows (not the name or description)."""
        data = {k: v for k, v in self.to_dict().items() if k not in ("name", "description")}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    def validate(self) -> None:
        unknown = [f for f in self.families if f not in FAMILIES]
        if not self.families or unknown:
            raise ValueError(f"unknown rule famil{'ies' if len(unknown) > 1 else 'y'} {unknown}; "
                             f"choose from {sorted(FAMILIES)}")
        if len(set(self.families)) != len(self.families):
            raise ValueError(f"families {list(self.families)} lists a family twice")
        if self.family_weights is not None:
            if len(self.family_weights) != len(self.families):
                raise ValueError(f"family_weights has {len(self.family_weights)} entries but families has "
                                 f"{len(self.families)}: give one weight per family")
            if min(self.family_weights) < 0 or sum(self.family_weights) <= 0:
                raise ValueError("family_weights must be >= 0 with a positive sum")
        extra = set(self.family_knobs) - set(self.families)
        if extra:
            raise ValueError(f"family_knobs names {sorted(extra)}, which are not in families {list(self.families)}")
        if self.band_scale not in SCALES:
            raise ValueError(f"unknown complexity scale {self.band_scale!r}; choose one of {SCALES}")
        Band(self.band_lower, self.band_upper, self.band_scale)  # raises when lower >= upper
        self.sim_config  # noqa: B018 (raises on bad sizes)
        self.tokenizer  # noqa: B018 (raises when the grid is not divisible by the patch)
        full = self.frames * self.tokenizer.tokens_per_frame
        if self.max_tokens is not None:
            if self.max_tokens < self.tokenizer.tokens_per_frame * 2:
                raise ValueError(f"max_tokens={self.max_tokens} holds less than two frames "
                                 f"({self.tokenizer.tokens_per_frame} tokens each): raise it or set None")
            if self.max_tokens > full:
                raise ValueError(f"max_tokens={self.max_tokens} is more than the {full} tokens of {self.frames} "
                                 f"frames: lower max_tokens (or set it to None) or raise frames")
        for key, low in (("sequences_per_rule", 1), ("shard_size", 1), ("candidates_per_round", 1)):
            if getattr(self, key) < low:
                raise ValueError(f"{key} must be >= {low}, got {getattr(self, key)}")
        if self.cluster_cap is not None and self.cluster_cap < 1:
            raise ValueError(f"cluster_cap must be >= 1 or None, got {self.cluster_cap}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")


_PAPER = dict(
    families=("neural",), family_knobs={"neural": {"preset": "paper"}}, n_states=10, height=12, width=12, patch=2,
    burn_in=10, frames=27, max_tokens=1024, band_lower=0.5, band_upper=1.0, band_scale="gzip-int32-ref",
)

PRESETS: dict[str, dict[str, Any]] = {
    "paper": {**_PAPER, "description": "reference neural rules (arXiv 2603.10055) in the reference gzip band "
                                       "(0.5, 1.0): 12×12, 10 states, 27 frames cut to 1,024 ids"},
    "paper-code": {**_PAPER, "band_lower": 0.3, "band_upper": 0.4,
                   "description": "reference neural rules in the (0.3, 0.4) band the paper recommends for code"},
    "tiny": dict(families=("neural",), family_knobs={"neural": {"preset": "paper"}}, n_states=4, height=8, width=8,
                 patch=2, burn_in=4, frames=8, max_tokens=None, band_upper=1.0,
                 band_lower=0.2, shard_size=256, candidates_per_round=256,
                 description="small and fast for CPU trials: 8×8, 4 states, 8 frames (144 ids), neural rules"),
    "mixed": dict(families=tuple(sorted(FAMILIES)), n_states=10, max_tokens=1024, band_lower=0.2, band_upper=1.0,
                  cluster_cap=64,
                  description="every rule family, equal weights, complexity band (0.2, 1.0), 64 per behaviour cluster"),
}
for _family in sorted(FAMILIES):
    PRESETS[_family] = dict(families=(_family,), n_states=10, max_tokens=1024, band_lower=0.2, band_upper=1.0,
                            cluster_cap=None if _family == "neural" else 64,
                            description=f"{_family} rules only ({FAMILIES[_family].description}), band (0.2, 1.0)")

ALIASES = {"grid": ("height", "width"), "band": ("band_lower", "band_upper"), "states": ("n_states",),
           "family": ("families",)}


def config_names() -> list[str]:
    return list(PRESETS)


def get_config(name: str | NCADataConfig = "paper", **overrides: Any) -> NCADataConfig:
    """The named config with ``overrides`` applied (``None`` is a value: ``max_tokens=None`` means no cut)."""
    if isinstance(name, NCADataConfig):
        base = name.to_dict()
        name = base.pop("name")
    else:
        if name not in PRESETS:
            raise ValueError(f"unknown data config {name!r}; choose one of {config_names()}")
        base = dict(PRESETS[name])
    fields = {f.name for f in dataclasses.fields(NCADataConfig)} - {"name"}
    expanded: dict[str, Any] = {}
    for key, value in overrides.items():
        if key in ALIASES:
            targets = ALIASES[key]
            if key == "grid":
                values = (value, value) if isinstance(value, int) else tuple(value)
            elif key == "band":
                values = tuple(value)
                if len(values) != 2:
                    raise ValueError(f"band must be (lower, upper), got {value!r}")
            elif key == "family":
                values = ((value,) if isinstance(value, str) else tuple(value),)
            else:
                values = (value,)
            for target, v in zip(targets, values):
                if target in overrides and overrides[target] != v:
                    raise ValueError(f"contradicting overrides: {key}={value!r} sets {target}={v!r} but "
                                     f"{target}={overrides[target]!r} was also given; pass only one of them")
                expanded[target] = v
        elif key in fields:
            expanded[key] = value
        else:
            raise ValueError(f"unknown data config field {key!r}; valid fields: {sorted(fields)} "
                             f"(aliases: {sorted(ALIASES)})")
    if "families" in expanded:
        fams = expanded["families"]
        expanded["families"] = (fams,) if isinstance(fams, str) else tuple(fams)
        base.setdefault("family_knobs", {})
        if "family_knobs" not in expanded:  # knobs of families no longer present are dropped
            expanded["family_knobs"] = {k: v for k, v in base["family_knobs"].items() if k in expanded["families"]}
        if "family_weights" not in expanded and base.get("family_weights") is not None:
            expanded["family_weights"] = None
    try:
        return NCADataConfig(name=name, **{**base, **expanded})
    except ValueError as err:
        changed = ", ".join(f"{k}={v!r}" for k, v in overrides.items())
        raise ValueError(f"data config {name!r}{' with ' + changed if changed else ''}: {err}") from None
    except TypeError as err:
        raise ValueError(f"data config {name!r}: {err}") from None
