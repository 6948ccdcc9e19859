"""NCA reverse reasoning, forward-verified: simulate the predicted initial grid under the true rule."""

import datasets
import evaluate

try:
    from evaluate_metrics.scoring import reverse_scores
except ImportError as err:  # evaluate copies this script elsewhere: the math lives in the installed package
    raise ImportError("nca_reverse needs the nca-pretraining package: pip install 'nca-pretraining[eval]'") from err

_DESCRIPTION = """Given the grid after T steps of a known (deterministic) rule, a model predicts a grid that
leads to it. Many grids can, so the primary score simulates the prediction T steps forward under the true rule
(nca_core.rollout) and compares with the given final grid: forward_exact and forward_cell_accuracy. Any valid
predecessor gets full marks; exact match with the original initial grid (initial_exact) is secondary."""

_KWARGS = """
Args:
    predictions: predicted initial grids (lists of rows of ints).
    references: the given final grids.
    rule_specs: per example the true rule as an nca_core spec (dict or JSON), e.g. {"family": "lifelike", "rule": "B3/S23"}.
    steps (int or list[int], default 1): how many steps separate initial and final grid.
    initial_grids (optional): the true initial grids, for initial_exact.
    seeds (optional): per example seed for stochastic rules (default 0; use deterministic rules).
    groups (list, optional): one label per example for a per-group breakdown.
Returns:
    forward_exact, forward_cell_accuracy, initial_exact (with initial_grids), num_examples, num_malformed, groups.
Examples:
    >>> metric = evaluate.load("evaluate_metrics/nca_reverse")
    >>> blinker = [[0] * 5, [0] * 5, [0, 1, 1, 1, 0], [0] * 5, [0] * 5]
    >>> vertical = [[0, 0, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 1, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 0]]
    >>> metric.compute(predictions=[vertical], references=[blinker], rule_specs=[{"family": "lifelike", "rule": "B3/S23"}])["forward_exact"]
    1.0
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS)
class NcaReverse(evaluate.Metric):
    def _info(self):
        grid = datasets.Sequence(datasets.Sequence(datasets.Value("int64")))
        return evaluate.MetricInfo(
            description=_DESCRIPTION, citation="", inputs_description=_KWARGS,
            features=datasets.Features({"predictions": grid, "references": grid}),
        )

    def _compute(self, predictions, references, rule_specs=None, steps=1, initial_grids=None, seeds=None, groups=None):
        if rule_specs is None:
            raise ValueError("nca_reverse needs rule_specs=: the true rule of every example")
        return reverse_scores(predictions, references, rule_specs, steps=steps, initial_grids=initial_grids,
                              seeds=seeds, groups=groups)
