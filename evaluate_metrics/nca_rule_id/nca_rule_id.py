"""NCA rule recognition: accuracy, macro-F1, confusion matrix and functional accuracy."""

import datasets
import evaluate

try:
    from evaluate_metrics.scoring import rule_id_scores
except ImportError as err:  # evaluate copies this script elsewhere: the math lives in the installed package
    raise ImportError("nca_rule_id needs the nca-pretraining package: pip install 'nca-pretraining[eval]'") from err

_DESCRIPTION = """Which rule generated a trajectory: at the family level (family names) or the identity level
(which of K candidate rules). Scores accuracy, macro-F1 and the confusion matrix; given the query trajectories
and the rule spec of each prediction it adds functional accuracy: a predicted rule that reproduces the query
exactly (simulated from its first frame) counts as right even if it is another rule."""

_KWARGS = """
Args:
    predictions: predicted labels (strings; None or unknown labels are malformed).
    references: true labels.
    labels (list, optional): the label set; fixes the confusion-matrix order, other predictions are malformed.
    query_trajectories (optional): per example the query frames (T, H, W).
    predicted_specs (optional): per example the nca_core rule spec (dict or JSON) of the predicted rule.
    seeds (optional): per example seed for stochastic rules (default 0).
    groups (list, optional): one label per example for a per-group breakdown.
Returns:
    accuracy, macro_f1, labels, confusion_matrix (rows true, columns predicted), num_examples,
    num_malformed, functional_accuracy (with query_trajectories + predicted_specs), groups.
Examples:
    >>> metric = evaluate.load("evaluate_metrics/nca_rule_id")
    >>> metric.compute(predictions=["life", "seeds"], references=["life", "life"])["accuracy"]
    0.5
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS)
class NcaRuleId(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION, citation="", inputs_description=_KWARGS,
            features=datasets.Features({"predictions": datasets.Value("string"), "references": datasets.Value("string")}),
        )

    def _compute(self, predictions, references, labels=None, query_trajectories=None, predicted_specs=None,
                 seeds=None, groups=None):
        return rule_id_scores(predictions, references, labels=labels, query_trajectories=query_trajectories,
                              predicted_specs=predicted_specs, seeds=seeds, groups=groups)
