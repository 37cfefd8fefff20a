"""Hyperparameter search with Optuna (``kanpde-tune``): presets, the study, its trials."""
