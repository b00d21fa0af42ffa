"""The Delta Lake layer: one table API (`Lakehouse`) over native Delta or delta-rs."""

from modelscale.delta.engine import DeltaEngine, select_engine
from modelscale.delta.lakehouse import Lakehouse
from modelscale.delta.model import CommitResult, TableInfo, Txn

__all__ = ["CommitResult", "DeltaEngine", "Lakehouse", "TableInfo", "Txn", "select_engine"]
