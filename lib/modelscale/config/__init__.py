"""Typed, validated configuration: base + environment overlay + pipeline file + env vars."""

from modelscale.config.loader import load_config, list_pipelines
from modelscale.config.models import AppConfig, PipelineConfig, Settings, TableConfig

__all__ = ["AppConfig", "PipelineConfig", "Settings", "TableConfig", "load_config", "list_pipelines"]
