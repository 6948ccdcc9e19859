"""Rule families and their registry. Adding a family: one module here and one line in ``FAMILIES``."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .base import BatchedRule, RuleFamily, RuleSpec, RuleSpecError
from .lenia import LeniaFamily
from .lifelike import LifelikeFamily
from .neural import NeuralFamily
from .smoothlife import SmoothLifeFamily
from .symbolic import SymbolicFamily

FAMILIES: dict[str, RuleFamily] = {
    f.name: f for f in (NeuralFamily(), LifelikeFamily(), LeniaFamily(), SmoothLifeFamily(), SymbolicFamily())
}


def get_family(name: str) -> RuleFamily:
    if name not in FAMILIES:
        raise RuleSpecError(f"unknown rule family {name!r}; choose one of {sorted(FAMILIES)}")
    return FAMILIES[name]


def validate_spec(spec: RuleSpec | str) -> RuleSpec:
    """A rule spec (dict or its JSON) with defaults filled in; raises RuleSpecError if malformed."""
    if isinstance(spec, str):
        try:
            spec = json.loads(spec)
        except json.JSONDecodeError as err:
            raise RuleSpecError(f"rule spec is not valid JSON ({err}): {spec[:80]!r}") from None
    if not isinstance(spec, dict) or "family" not in spec:
        raise RuleSpecError(f"a rule spec is a dict with a 'family' key, e.g. {{'family': 'lifelike', 'rule': 'B3/S23'}}; got {spec!r}")
    return get_family(spec["family"]).validate(dict(spec))


def spec_to_json(spec: RuleSpec) -> str:
    """Canonical JSON of a spec (sorted keys, no spaces): equal rules give equal strings."""
    return json.dumps(validate_spec(spec), sort_keys=True, separators=(",", ":"))


def num_states(spec: RuleSpec) -> int:
    return get_family(spec["family"]).num_states(spec)


def sample_rules(family: str, count: int, seed: int, n_states: int = 10, **knobs: Any) -> list[RuleSpec]:
    """``count`` random rule specs of ``family`` using at most ``n_states`` states; deterministic in ``seed``.

    Rule i depends only on (family, seed, i, knobs), so a prefix of a longer draw is the shorter draw."""
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    fam = get_family(family)
    return [fam.sample(np.random.default_rng([seed, i, _family_salt(family)]), n_states, **knobs) for i in range(count)]


def _family_salt(name: str) -> int:
    return int.from_bytes(name.encode()[:8].ljust(8, b"\0"), "little") & (2**62 - 1)


__all__ = [
    "FAMILIES", "BatchedRule", "RuleFamily", "RuleSpec", "RuleSpecError", "get_family", "num_states",
    "sample_rules", "spec_to_json", "validate_spec",
]
