"""Batch scoring: the registered model scores each run date's feature rows into the predictions table."""
