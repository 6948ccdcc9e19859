"""NCA long-horizon evolution: accuracy curves over h = 1..H of an autoregressive rollout."""

import datasets
import evaluate

try:
    from evaluate_metrics.scoring import long_horizon_scores
except ImportError as err:  # evaluate copies this script elsewhere: the math lives in the installed package
    raise ImportError("nca_long_horizon needs the nca-pretraining package: pip install 'nca-pretraining[eval]'") from err

_DESCRIPTION = """Given frames 1..N, a model rolls out frames N+1..N+H on its own (nothing fed back from the
truth). Scores cell accuracy and exact match at every horizon step, the mean step of the first error and the
horizon at which cell accuracy falls below a threshold. Missing or malformed frames score 0 and are counted."""

_KWARGS = """
Args:
    predictions: per example a list of H predicted grids.
    references: per example a list of H true grids (the same H for every example).
    threshold (float, default 0.5): accuracy level for horizon_below_threshold.
    n_states (int or list[int], optional): states must lie in [0, n_states).
    groups (list, optional): one label per example for a per-group breakdown.
Returns:
    cell_accuracy_at, exact_match_at (lists over h = 1..H), cell_accuracy, exact_match,
    mean_first_error_step (H + 1 if never wrong), horizon_below_threshold (None if never),
    threshold, horizon, num_examples, num_malformed (and groups).
Examples:
    >>> metric = evaluate.load("evaluate_metrics/nca_long_horizon")
    >>> metric.compute(predictions=[[[[1]], [[0]]]], references=[[[[1]], [[1]]]])["cell_accuracy_at"]
    [1.0, 0.0]
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS)
class NcaLongHorizon(evaluate.Metric):
    def _info(self):
        grids = datasets.Sequence(datasets.Sequence(datasets.Sequence(datasets.Value("int64"))))
        return evaluate.MetricInfo(
            description=_DESCRIPTION, citation="", inputs_description=_KWARGS,
            features=datasets.Features({"predictions": grids, "references": grids}),
        )

    def _compute(self, predictions, references, threshold=0.5, n_states=None, groups=None):
        return long_horizon_scores(predictions, references, threshold=threshold, n_states=n_states, groups=groups)
