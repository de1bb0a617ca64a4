"""Tuning and model selection: re-run when a model changes; each one picks a value a model file carries, or a model."""
