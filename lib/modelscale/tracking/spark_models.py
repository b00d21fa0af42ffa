"""Log and load Spark ML pipeline models in MLflow without a JVM in this process: classic Spark and Spark Connect.

MLflow 3.17's Spark flavor moves a model between Spark's storage and the local disk through the driver's JVM
(``mlflow.spark._HadoopFileSystem`` uses ``SparkContext._gateway``). A Spark Connect client has no JVM, so
``mlflow.spark.log_model`` and ``load_model`` fail there with ``'NoneType' object has no attribute 'jvm'``
(only ``pyspark.ml.connect`` models, a different set of estimators, and Databricks' UC-volume paths avoid it).
Here Spark's own writer and reader move the model to and from a staging folder that both this process and
Spark reach (`modelscale.tracking.setup.dfs_tmpdir`), and MLflow's artifact store moves it between that folder
and the tracking server. What is logged is MLflow's Spark flavor file for file (``MLmodel``, ``sparkml/``), so
``mlflow.spark.load_model`` still loads it in a classic session and the registry copies it like any model.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import mlflow
import mlflow.spark
from mlflow.models import Model, ModelSignature
from mlflow.models.model import ModelInfo
from pyspark.ml import PipelineModel

from modelscale.errors import ModelscaleError

FLAVOR = "spark"  # mlflow.spark.FLAVOR_NAME
MODEL_DATA = "sparkml"  # the folder MLflow's Spark flavor keeps Spark's own files in


def log_model(model: PipelineModel, staging: str, *, signature: ModelSignature, input_example: Any,
              pip_requirements: list[str]) -> ModelInfo:
    """Log ``model`` to the active run as MLflow's Spark flavor and return its info (``model_uri`` registers it).

    The serving-input check MLflow makes after saving is skipped: it reloads the model through the JVM path above.
    """
    return Model.log(artifact_path=None, name="model", flavor=sys.modules[__name__], flavor_name=FLAVOR,
                     spark_model=model, staging=staging, signature=signature, input_example=input_example,
                     pip_requirements=pip_requirements, validate_serving_input=False)


def save_model(spark_model: PipelineModel, path: str, mlflow_model: Model, staging: str, signature: ModelSignature,
               input_example: Any, pip_requirements: list[str], **_: Any) -> None:
    """Write ``spark_model`` as an MLflow Spark-flavor model in the local folder ``path`` (`Model.log` calls this:
    it is the flavor's ``save_model``). Spark writes into ``staging`` (a local folder it reaches too), then the
    files move into ``path``; MLflow writes the rest (MLmodel, environment, signature, input example)."""
    with tempfile.TemporaryDirectory(dir=_folder(staging), prefix="save-") as tmp:
        written = Path(tmp) / MODEL_DATA
        spark_model.write().overwrite().save(written.as_uri())
        Path(path).mkdir(parents=True)
        shutil.move(written, Path(path) / MODEL_DATA)
    # MLflow's own metadata writer for this flavor, the part of mlflow.spark.save_model after the JVM copy.
    mlflow.spark._save_model_metadata(path, spark_model, mlflow_model, conda_env=None, code_paths=None,
                                      signature=signature, input_example=input_example,
                                      pip_requirements=pip_requirements)


def load_model(model_uri: str, staging: str) -> PipelineModel:
    """The Spark ``PipelineModel`` logged at ``model_uri`` (``models:/name/version``, ``models:/name@alias``, ...).

    MLflow downloads the model into ``staging``, where Spark reads it. Spark ML reads a model's files while
    loading it (its data is held by the driver, or the Connect server, afterwards), so the copy is removed then.
    """
    with tempfile.TemporaryDirectory(dir=_folder(staging), prefix="load-") as tmp:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=tmp))
        flavor = Model.load(str(local)).flavors.get(FLAVOR)
        if flavor is None:
            raise ModelscaleError(f"{model_uri} is not a Spark ML model: its MLmodel has no {FLAVOR!r} flavor")
        return PipelineModel.load((local / flavor["model_data"]).as_uri())


def _folder(staging: str) -> Path:
    path = Path(staging)
    path.mkdir(parents=True, exist_ok=True)
    return path
