"""Spark ML training: pipeline from config, time-based splits, tuning, evaluation, the train job."""
