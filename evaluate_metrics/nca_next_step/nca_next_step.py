"""NCA next-step prediction: exact frame match, cell accuracy and macro-F1 over states."""

import datasets
import evaluate

try:
    from evaluate_metrics.scoring import next_step_scores
except ImportError as err:  # evaluate copies this script elsewhere: the math lives in the installed package
    raise ImportError("nca_next_step needs the nca-pretraining package: pip install 'nca-pretraining[eval]'") from err

_DESCRIPTION = """Given frames 1..N of a cellular-automaton trajectory, a model predicts frame N+1. Scores the
predicted grids against the true ones: exact frame match, cell accuracy and macro-F1 over states (so that
predicting the dominant state everywhere cannot look good). Malformed predictions (wrong shape, states out of
range) score 0 and are counted in num_malformed."""

_KWARGS = """
Args:
    predictions: list of grids (lists of rows of ints), one per example.
    references: list of true grids, same count.
    n_states (int or list[int], optional): states must lie in [0, n_states).
    groups (list, optional): one label per example (e.g. the rule family) for a per-group breakdown.
Returns:
    exact_match, cell_accuracy, macro_f1, num_examples, num_malformed (and groups: {label: {...}}).
Examples:
    >>> metric = evaluate.load("evaluate_metrics/nca_next_step")
    >>> metric.compute(predictions=[[[0, 1], [1, 0]]], references=[[[0, 1], [1, 1]]])["cell_accuracy"]
    0.75
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS)
class NcaNextStep(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION, citation="", inputs_description=_KWARGS,
            features=datasets.Features({
                "predictions": datasets.Sequence(datasets.Sequence(datasets.Value("int64"))),
                "references": datasets.Sequence(datasets.Sequence(datasets.Value("int64"))),
            }),
        )

    def _compute(self, predictions, references, n_states=None, groups=None):
        return next_step_scores(predictions, references, n_states=n_states, groups=groups)
