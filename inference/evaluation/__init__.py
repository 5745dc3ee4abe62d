"""Scoring and measuring: error metrics and success rates, evaluating a model on labelled data,
their plots, runtime benchmarks and the sim-to-real check on real frames."""
