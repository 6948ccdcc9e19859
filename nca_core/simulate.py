"""Batched rollouts of many different rules at once, on CPU or CUDA.

A trajectory is a pure function of (rule spec, initial-condition seed, simulation settings): rules are
grouped by family into batches, every random draw comes from a counter-based hash of the trajectory's
seed, and no computation mixes batch entries, so the frames do not depend on what else is in the batch,
on the batch size, on the device or on the thread count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np
import torch

from .rules import RuleSpec, get_family, num_states, validate_spec
from .rules.base import cpu_threads_wanted, hash_uniform


@dataclass(frozen=True)
class SimConfig:
    """Simulation settings. Defaults are the reference's: 12×12 torus, 10 burn-in steps, 27 frames kept."""

    height: int = 12
    width: int = 12
    burn_in: int = 10
    frames: int = 27

    def __post_init__(self) -> None:
        for key in ("height", "width", "frames"):
            if getattr(self, key) <= 0:
                raise ValueError(f"SimConfig.{key} must be a positive integer, got {getattr(self, key)}")
        if self.burn_in < 0:
            raise ValueError(f"SimConfig.burn_in must be >= 0, got {self.burn_in}")

    def to_dict(self) -> dict:
        return asdict(self)


@contextmanager
def cpu_threads(device: torch.device):
    """Intra-op threads for CPU simulation: ``NCA_THREADS`` (default 1), restored afterwards.

    A step of a few hundred 12×12 grids is a chain of small ops: a second OpenMP thread gains little,
    and when the cores are busy (data-loader workers, ``--num-proc`` processes, a trainer) its spinning
    made generation 6–20× slower in our measurements. Parallelism comes from processes instead."""
    if device.type != "cpu":
        yield
        return
    wanted = cpu_threads_wanted()
    before = torch.get_num_threads()
    if wanted == before:
        yield
        return
    torch.set_num_threads(wanted)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` → CUDA when available, else CPU."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but torch sees no GPU: use device='cpu' or 'auto'")
    return dev


def initial_grids(seeds: Sequence[int] | torch.Tensor, n_states: Sequence[int] | torch.Tensor,
                  height: int, width: int, device: str | torch.device = "cpu") -> torch.Tensor:
    """The reference initial condition, one per seed: g ~ N(0, I_n) once per trajectory, then every cell
    i.i.d. ~ Categorical(softmax(g)). Returns int64 (batch, height, width)."""
    device = resolve_device(device)
    keys = torch.as_tensor(np.asarray(seeds, dtype=np.int64), device=device)
    n = torch.as_tensor(np.asarray(n_states, dtype=np.int64), device=device)
    n_max = int(n.max()) if len(n) else 1
    u = hash_uniform(keys, 0, (2, n_max), stream=1)  # Box-Muller
    g = torch.sqrt(-2.0 * torch.log(u[:, 0])) * torch.cos(2.0 * torch.pi * u[:, 1])
    g = torch.where(torch.arange(n_max, device=device)[None] < n[:, None], g, torch.full_like(g, -torch.inf))
    cdf = torch.cumsum(torch.softmax(g, dim=-1), dim=-1)  # (B, n_max)
    cells = hash_uniform(keys, 0, (height * width,), stream=2)  # (B, HW)
    state = (cells[:, :, None] >= cdf[:, None, :-1]).sum(-1)
    return torch.minimum(state, (n - 1)[:, None]).reshape(-1, height, width)


def rollout(specs: Sequence[RuleSpec], seeds: Sequence[int] | None = None, config: SimConfig | None = None, *,
            initial: np.ndarray | torch.Tensor | None = None, device: str | torch.device = "auto",
            batch_size: int | None = None) -> torch.Tensor:
    """Simulate ``specs[i]`` from initial-condition ``seeds[i]`` (or from ``initial[i]``, a state grid).

    Returns uint8 frames (batch, config.frames, H, W) on the compute device: frame 0 is the grid after
    ``config.burn_in`` steps, each later frame one step on. With ``initial`` given the grids are used as
    they are (set ``burn_in=0`` to keep them as frame 0); ``seeds`` then only keys stochastic rules.
    Rules are simulated ``batch_size`` at a time (default: 512 on CPU, where the neural rule's lookup
    tables should stay in cache, 16,384 on GPUs); the result does not depend on it.
    """
    config = config or SimConfig()
    device = resolve_device(device)
    batch_size = batch_size or (512 if device.type == "cpu" else 16384)
    specs = [validate_spec(s) for s in specs]
    batch = len(specs)
    if seeds is None:
        if initial is None:
            raise ValueError("rollout needs initial-condition seeds or initial grids")
        seeds = list(range(batch))
    if len(seeds) != batch:
        raise ValueError(f"got {batch} rule specs but {len(seeds)} seeds: give one seed per rule")
    if initial is not None:
        initial = torch.as_tensor(np.asarray(initial), device=device).to(torch.int64)
        if initial.shape != (batch, config.height, config.width):
            raise ValueError(f"initial grids must have shape {(batch, config.height, config.width)}, got {tuple(initial.shape)}")
    out = torch.empty((batch, config.frames, config.height, config.width), dtype=torch.uint8, device=device)
    with cpu_threads(device):
        _rollout_groups(specs, seeds, config, device, batch_size, initial, out)
    return out


def _rollout_groups(specs, seeds, config, device, batch_size, initial, out) -> None:
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, spec in enumerate(specs):
        groups[(spec["family"], get_family(spec["family"]).group_key(spec))].append(i)
    for (family, _), members in groups.items():
        for start in range(0, len(members), batch_size):
            idx = members[start : start + batch_size]
            sel = torch.as_tensor(idx, device=device)
            grid0 = None if initial is None else initial[sel]
            out[sel] = _run(family, [specs[i] for i in idx], [int(seeds[i]) for i in idx], config, device, grid0)


def _run(family: str, specs: list[RuleSpec], seeds: list[int], config: SimConfig, device: torch.device,
         grid: torch.Tensor | None) -> torch.Tensor:
    fam = get_family(family)
    rule = fam.build(specs, device)
    n = [num_states(s) for s in specs]
    keys = torch.as_tensor(np.asarray(seeds, dtype=np.int64), device=device)
    if grid is None:
        grid = initial_grids(seeds, n, config.height, config.width, device)
    elif bool((grid < 0).any()) or bool((grid >= torch.as_tensor(n, device=device)[:, None, None]).any()):
        raise ValueError("initial grid holds a state outside the rule's alphabet 0..n_states-1")
    return fam.rollout(rule, grid, keys, config.burn_in, config.frames)
