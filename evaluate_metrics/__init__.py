"""evaluate_metrics: the four NCA evaluation tasks.

- ``scoring``: the metric math as pure functions (next_step_scores, long_horizon_scores, rule_id_scores,
  reverse_scores); the ``evaluate`` modules ``nca_next_step``, ``nca_long_horizon``, ``nca_rule_id`` and
  ``nca_reverse`` (folders here, ``evaluate.load("evaluate_metrics/nca_reverse")``) wrap them.
- ``tasks``: versioned, deterministic held-out task sets (``nca-eval-v1``) and their export as a dataset.
- ``harness``: load_model, predict_frames (batched, KV cache, constrained), candidate_logprobs, run_eval.
- ``cli``: ``nca eval``.

Nothing heavy is imported here: import the submodule you need.
"""
