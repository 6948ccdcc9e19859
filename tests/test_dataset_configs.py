"""Named data configs, overrides and the split of rules between train / validation / test."""

import pytest

from dataset_builder.configs import PRESETS, get_config
from dataset_builder.generate import rule_split, sample_candidates
from nca_core import FAMILIES


def test_paper_is_the_reference_setup():
    cfg = get_config("paper")
    assert (cfg.height, cfg.width, cfg.n_states, cfg.frames, cfg.burn_in, cfg.patch) == (12, 12, 10, 27, 10, 2)
    assert (cfg.band_lower, cfg.band_upper, cfg.band_scale) == (0.5, 1.0, "gzip-int32-ref")
    assert cfg.sequence_length == 1024 and cfg.tokenizer.frame_start == 10000 and cfg.tokenizer.frame_end == 10001
    assert cfg.families == ("neural",) and cfg.family_knobs["neural"]["preset"] == "paper"
    code = get_config("paper-code")
    assert (code.band_lower, code.band_upper) == (0.3, 0.4)


def test_every_family_has_a_config_and_mixed_has_all():
    for family in FAMILIES:
        assert get_config(family).families == (family,)
    assert set(get_config("mixed").families) == set(FAMILIES)
    assert {"paper", "paper-code", "tiny", "mixed"} <= set(PRESETS)


def test_overrides_and_aliases():
    cfg = get_config("paper", grid=16, band=(0.3, 0.4), states=8, frames=10, max_tokens=None, seed=3)
    assert (cfg.height, cfg.width, cfg.band_lower, cfg.band_upper, cfg.n_states) == (16, 16, 0.3, 0.4, 8)
    assert cfg.sequence_length == 10 * (2 + 64) and cfg.seed == 3
    assert get_config("paper").fingerprint() != get_config("paper", seed=1).fingerprint()
    assert get_config(get_config("tiny"), frames=5).frames == 5


@pytest.mark.parametrize("name, overrides, message", [
    ("nope", {}, "unknown data config 'nope'"),
    ("paper", {"grdi": 3}, "unknown data config field 'grdi'"),
    ("paper", {"grid": 16, "height": 12}, "contradicting overrides"),
    ("paper", {"band": (0.3, 0.4), "band_lower": 0.5}, "contradicting overrides"),
    ("paper", {"band": (0.6, 0.4)}, "lower < upper"),
    ("paper", {"frames": 10}, "max_tokens=1024 is more than the 380 tokens"),
    ("paper", {"grid": 13}, "not divisible by patch size"),
    ("paper", {"families": ("neural", "bogus")}, "unknown rule family"),
    ("paper", {"band_scale": "bits"}, "unknown complexity scale"),
])
def test_bad_configs_say_what_to_change(name, overrides, message):
    with pytest.raises(ValueError, match=message):
        get_config(name, **overrides)


def test_splits_never_share_rules():
    cfg = get_config("tiny", candidates_per_round=200)
    specs = {split: sample_candidates(cfg, split, 0, 0) for split in ("train", "validation", "test")}
    keys = {split: {str(sorted(s.items())) for s in v} for split, v in specs.items()}
    assert all(len(k) == 200 for k in keys.values())
    assert not keys["train"] & keys["validation"] and not keys["train"] & keys["test"]
    assert not keys["validation"] & keys["test"]
    for split, v in specs.items():
        assert all(rule_split(s) == split for s in v)
    # a small rule space (cyclic CA) is still partitioned, not shared
    sym = get_config("symbolic", family_knobs={"symbolic": {"kind": "cyclic"}}, candidates_per_round=50)
    a = {str(sorted(s.items())) for s in sample_candidates(sym, "train", 0, 0)}
    b = {str(sorted(s.items())) for s in sample_candidates(sym, "test", 0, 0)}
    assert a and b and not a & b
