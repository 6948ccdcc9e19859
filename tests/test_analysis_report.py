"""The analysis of a few dozen rules writes every figure and a report whose numbers agree with direct
computation on hand-made trajectories mixed into the population (Life blinker, block, tromino, glider)."""

import json
import re

import numpy as np
import pytest
from PIL import Image
from test_analysis_measures import BLINKER, BLOCK, GLIDER, LIFE, TROMINO, life_run

import nca_core as nc
from nca_core.analysis import analyze_frames, write_report
from nca_core.complexity import score_rules

FIGURES = ("dist_complexity", "dist_entropy", "dist_activity", "dist_distinct_states", "activity_over_time",
           "attractors", "sensitivity", "correlations", "gallery")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    specs = [s for fam in sorted(nc.FAMILIES) for s in nc.sample_rules(fam, 6, seed=3)]
    seeds = list(range(len(specs)))
    frames = nc.rollout(specs, seeds, nc.SimConfig(), device="cpu").numpy()
    hand = np.stack([life_run(g, 27) for g in (BLINKER, BLOCK, TROMINO, GLIDER)]).astype(np.uint8)
    all_specs = specs + [LIFE] * 4
    families = [s["family"] for s in specs] + ["life-handmade"] * 4
    scores = np.concatenate([score_rules(specs, seeds, device="cpu"), [0.05, 0.05, 0.05, 0.05]])
    analysis = analyze_frames(np.concatenate([frames, hand]), specs=all_specs, seeds=seeds + [0, 1, 2, 3],
                              families=families, scores=scores, device="cpu", config=nc.SimConfig())
    out = tmp_path_factory.mktemp("report")
    paths = write_report(analysis, out, source="test population")
    return analysis, out, paths, hand


def table_row(text, first_cell, header_start):
    """Cells of the row starting with ``first_cell`` in the table whose header starts with ``header_start``."""
    blocks = text.split("\n\n")
    table = next(b for b in blocks if b.startswith(f"| {header_start}"))
    header = [c.strip() for c in table.splitlines()[0].strip("|").split("|")]
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] == first_cell:
            return dict(zip(header, cells))
    raise AssertionError(f"no row {first_cell!r} in table {header_start!r}")


def test_every_figure_is_written(report):
    _, out, paths, _ = report
    for name in FIGURES:
        path = out / f"{name}.png"
        assert path.exists() and paths[name] == path
        with Image.open(path) as im:
            assert im.format == "PNG" and im.size[0] > 200 and im.size[1] > 200
            assert len(set(im.convert("L").getdata())) > 2  # not a blank canvas
    text = (out / "report.md").read_text()
    for name in FIGURES:
        assert f"]({name}.png)" in text


def test_report_numbers_match_hand_made_trajectories(report):
    analysis, out, _, hand = report
    text = (out / "report.md").read_text()
    row = table_row(text, "life-handmade", "family | fixed point")
    # blinker: cycle; block and tromino: fixed points (transients 0 and 1); glider: none in 27 frames
    assert (row["fixed point"], row["cycle"], row["none"]) == ("2", "1", "1")
    assert row["mean transient"] == f"{(0 + 0 + 1) / 3:.3f}"
    activity = np.mean([(h[1:] != h[:-1]).mean() for h in hand])
    entropy = []
    for h in hand:
        p = np.bincount(h.ravel(), minlength=2) / h.size
        entropy.append(-(p[p > 0] * np.log2(p[p > 0])).sum())
    row = table_row(text, "life-handmade", "family | complexity")
    assert row["activity"].split()[0] == f"{activity:.3f}"
    assert row["entropy"].split()[0] == f"{np.mean(entropy):.3f}"
    assert row["distinct_states"].split()[0] == "2.000"
    # the family × band table of mean entropy (the first one after the per-band table); all four are in <0.2
    assert table_row(text, "life-handmade", "family | <0.2")["<0.2"] == f"{np.mean(entropy):.3f}"
    row = table_row(text, "life-handmade", "family | rules")
    assert row["rules"] == "4" and row["<0.2"] == "4"
    summary = json.loads((out / "summary.json").read_text())
    recs = [r for r in summary["records"] if r["family"] == "life-handmade"]
    assert [(r["period"], r["transient"], r["attractor"]) for r in recs] == [
        (2, 0, "cycle"), (1, 0, "fixed point"), (1, 1, "fixed point"), (0, 0, "none")]
    assert recs[0]["activity"] == pytest.approx(4 / 144)
    # the blinker's centre is not the perturbed cell (6, 6): an isolated dead cell flipped alive dies at once
    assert recs[0]["healed"] and recs[0]["damage_rate"] < 0
    # the tromino's block occupies (8..9, 8..9); a live cell at (6, 6) dies alone: damage heals too
    assert recs[2]["final_damage"] == 0.0


def test_report_aggregates_are_consistent(report):
    analysis, out, _, _ = report
    text = (out / "report.md").read_text()
    summary = json.loads((out / "summary.json").read_text())
    recs = summary["records"]
    assert summary["n"] == len(recs) == 34
    assert summary["attractors"]["all"]["none"] == sum(r["attractor"] == "none" for r in recs)
    for fam in sorted(nc.FAMILIES):
        rates = [r["damage_rate"] for r in recs if r["family"] == fam]
        got = table_row(text, fam, "family | mean rate")["mean rate"]
        assert got == f"{np.mean(rates):.3f}"
        assert summary["distributions"]["complexity"]["by_family"][fam]["mean"] == pytest.approx(
            np.mean([r["complexity"] for r in recs if r["family"] == fam]))
    # band counts in the population table add up, and each band row agrees with the records
    total = table_row(text, "all", "family | rules")
    for band in analysis["band_order"]:
        assert int(total[band]) == sum(r["band"] == band for r in recs)
    corr = summary["correlations"]
    i, j = corr["measures"].index("complexity"), corr["measures"].index("entropy")
    from nca_core.analysis import spearman
    assert corr["spearman"][i][j] == pytest.approx(spearman(np.array([r["complexity"] for r in recs]),
                                                            np.array([r["entropy"] for r in recs])))
    assert re.search(r"\| complexity \| 1\.00 \|", text)
    # the gallery shows at most 3 rules per band, every band present
    assert set(summary["gallery"]) == set(analysis["band_order"])
    assert all(0 < len(v) <= 3 for v in summary["gallery"].values())
