"""MineWatch pipelines: the stages, the CLI, params loading and the only MLflow writer."""

__version__ = "0.1.0"
