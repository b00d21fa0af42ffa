"""Logical table names to physical locations.

Jobs never see a path: they ask for ``flights`` and get a `TableRef` whose location is a path
under ``storage.root`` locally, a storage URI on a cluster, or ``catalog.database.name`` in
Unity Catalog. A table of one pipeline (not `TableConfig.shared`) is namespaced by the pipeline's name:
``<root>/<layer>/<pipeline>/<name>``, or ``catalog.database.<pipeline>__<name>``.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelscale.config.models import PipelineConfig, Settings, TableConfig
from modelscale.errors import ConfigError


@dataclass(frozen=True)
class TableRef:
    """A resolved table: logical name, where it lives and how it is declared."""

    name: str
    location: str
    config: TableConfig

    @property
    def is_catalog_name(self) -> bool:
        """True when the location is a metastore name rather than a path or URI."""
        return "/" not in self.location and ":" not in self.location

    @property
    def partition_by(self) -> list[str]:
        return list(self.config.partition_by)


class Catalog:
    """The tables a pipeline declares, resolved for one environment."""

    def __init__(self, settings: Settings, pipeline: PipelineConfig | None) -> None:
        self._settings = settings
        self._config = pipeline
        self._tables: dict[str, TableConfig] = dict(pipeline.tables) if pipeline else {}
        self._pipeline = pipeline.name if pipeline else ""

    def shared(self, name: str) -> bool:
        """Whether ``name`` is shared by the pipelines that declare it (`PipelineConfig.shared`)."""
        return self._config is not None and self._config.shared(name)

    def names(self) -> list[str]:
        return sorted(self._tables)

    def table(self, name: str) -> TableRef:
        """Resolve ``name``; an undeclared name is a config error listing the declared ones."""
        try:
            cfg = self._tables[name]
        except KeyError:
            raise ConfigError(
                f"table {name!r} is not declared under tables in the pipeline config "
                f"(declared: {', '.join(self.names()) or 'none'})"
            ) from None
        return TableRef(name=name, location=self._location(name, cfg), config=cfg)

    def _location(self, name: str, cfg: TableConfig) -> str:
        if cfg.location:
            return cfg.location
        st = self._settings.storage
        own = not self.shared(name)
        if st.catalog:
            return f"{st.catalog}.{st.database}.{f'{self._pipeline}__' if own else ''}{name}"
        return f"{st.root.rstrip('/')}/{cfg.layer}/{f'{self._pipeline}/' if own else ''}{name}"
