"""Estimators, rules, metrics and SHAP explanations (no I/O, no MLflow)."""
