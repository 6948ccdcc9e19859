"""nca_core: the science of NCA data — rule families, batched simulation, tokens, complexity, filters,
labels, rendering and analysis. Free of Hugging Face imports (torch + numpy only)."""

from .rules import FAMILIES, RuleSpec, RuleSpecError, get_family, sample_rules, spec_to_json, validate_spec
from .simulate import SimConfig, initial_grids, resolve_device, rollout

__all__ = [
    "FAMILIES", "RuleSpec", "RuleSpecError", "SimConfig", "get_family", "initial_grids", "resolve_device",
    "rollout", "sample_rules", "spec_to_json", "validate_spec",
]
