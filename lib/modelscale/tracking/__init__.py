"""MLflow: setup from settings, lineage of every run, the model registry and promotion."""
