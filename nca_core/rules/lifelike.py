"""Life-like outer-totalistic rules in B/S notation, and multi-state "Generations" rules.

Spec: ``{"family": "lifelike", "rule": "B3/S23"}`` (Conway's Life) or ``"B2/S/C3"`` (Brian's Brain:
Generations with 3 states). State 1 is alive, 0 dead, and in Generations 2..C-1 are dying cells that
age by one each step and neither count as neighbours nor come back. Neighbourhood: Moore (8 cells), torus.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import numpy as np
import torch

from .base import BatchedRule, RuleFamily, RuleSpec, RuleSpecError, check_keys, moore_shifts

NAMED = {
    "life": "B3/S23", "highlife": "B36/S23", "seeds": "B2/S", "day-and-night": "B3678/S34678",
    "maze": "B3/S12345", "replicator": "B1357/S1357", "diamoeba": "B35678/S5678",
    "2x2": "B36/S125", "morley": "B368/S245", "anneal": "B4678/S35678", "brians-brain": "B2/S/C3",
    "star-wars": "B2/S345/C4",
}
_PATTERN = re.compile(r"^B([0-8]*)/S([0-8]*)(?:/C(\d+))?$")


def parse_rule(text: str) -> tuple[list[int], list[int], int]:
    """'B3/S23' → (birth counts, survival counts, states). Raises RuleSpecError on anything else."""
    m = _PATTERN.match(text.strip().upper())
    if not m:
        raise RuleSpecError(
            f"lifelike rule {text!r} is not in B/S notation: write e.g. 'B3/S23' or 'B2/S/C3' "
            f"(Generations with 3 states), or use a name from {sorted(NAMED)}"
        )
    births, survive, states = m.group(1), m.group(2), m.group(3)
    n = int(states) if states else 2
    if n < 2:
        raise RuleSpecError(f"lifelike rule {text!r}: C must be >= 2")
    return sorted({int(c) for c in births}), sorted({int(c) for c in survive}), n


def format_rule(births: list[int], survive: list[int], n: int) -> str:
    text = "B" + "".join(map(str, sorted(births))) + "/S" + "".join(map(str, sorted(survive)))
    return text + (f"/C{n}" if n > 2 else "")


class LifelikeFamily(RuleFamily):
    name: ClassVar[str] = "lifelike"
    description: ClassVar[str] = "outer-totalistic B/S rules (Life and friends) and Generations"

    def sample(self, rng: np.random.Generator, n_states: int, density: float = 0.3,
               generations: float = 0.3, **knobs: Any) -> RuleSpec:
        """Random B/S sets: each count is in B (never 0) and in S with probability ``density``; with
        probability ``generations`` the rule gets 3..min(n_states, 8) states."""
        if knobs:
            raise RuleSpecError(f"lifelike rules take the knobs density, generations; got {sorted(knobs)}")
        births = [c for c in range(1, 9) if rng.random() < density] or [int(rng.integers(1, 9))]
        survive = [c for c in range(0, 9) if rng.random() < density]
        n = 2
        if n_states >= 3 and rng.random() < generations:
            n = int(rng.integers(3, min(n_states, 8) + 1))
        return {"family": self.name, "rule": format_rule(births, survive, n)}

    def validate(self, spec: RuleSpec) -> RuleSpec:
        check_keys(spec, {"rule"})
        if "rule" not in spec or not isinstance(spec["rule"], str):
            raise RuleSpecError("lifelike rule: a 'rule' string such as 'B3/S23' is required")
        text = NAMED.get(spec["rule"].lower(), spec["rule"])
        return {"family": self.name, "rule": format_rule(*parse_rule(text))}

    def num_states(self, spec: RuleSpec) -> int:
        return parse_rule(spec["rule"])[2]

    def build(self, specs: list[RuleSpec], device: torch.device) -> BatchedRule:
        birth = torch.zeros(len(specs), 9, dtype=torch.bool)
        survive = torch.zeros(len(specs), 9, dtype=torch.bool)
        states = torch.zeros(len(specs), dtype=torch.int64)
        for i, spec in enumerate(specs):
            b, s, n = parse_rule(spec["rule"])
            birth[i, b] = True
            survive[i, s] = True
            states[i] = n
        params = {"birth": birth.to(device), "survive": survive.to(device), "states": states.to(device)}
        return BatchedRule(self, specs, device, params)

    def step(self, rule: BatchedRule, grid: torch.Tensor, t: int, keys: torch.Tensor) -> torch.Tensor:
        p = rule.params
        alive = (grid == 1).to(torch.int64)
        count = sum(shifted for _, _, shifted in moore_shifts(alive))
        b = grid.shape[0]
        flat = count.reshape(b, -1)
        born = torch.gather(p["birth"], 1, flat).reshape(grid.shape)
        stays = torch.gather(p["survive"], 1, flat).reshape(grid.shape)
        n = p["states"][:, None, None]
        dying_next = torch.where(n > 2, torch.full_like(grid, 2), torch.zeros_like(grid))
        aged = grid + 1
        aged = torch.where(aged >= n, torch.zeros_like(grid), aged)
        return torch.where(
            grid == 0,
            born.to(torch.int64),
            torch.where(grid == 1, torch.where(stays, torch.ones_like(grid), dying_next), aged),
        )
