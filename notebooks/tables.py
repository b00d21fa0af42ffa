# Databricks notebook source
# MAGIC %md
# MAGIC # modelscale: tables
# MAGIC
# MAGIC Every table the pipeline declares, with its location, Delta version and row count, and a
# MAGIC look at any one of them, addressed by logical name as the jobs address it. Installs the wheel as
# MAGIC run_job.py does (`wheel`, `conf`).

# COMMAND ----------

dbutils.widgets.text("wheel", "", "Wheel to install")  # noqa: F821 (Databricks global)
dbutils.widgets.text("conf", "", "Conf directory (empty: packaged)")  # noqa: F821
dbutils.widgets.text("env", "databricks", "Environment")  # noqa: F821
dbutils.widgets.text("pipeline", "flights_delay", "Pipeline")  # noqa: F821
dbutils.widgets.text("table", "flights", "Table to show")  # noqa: F821
wheel = dbutils.widgets.get("wheel")  # noqa: F821

# COMMAND ----------

# MAGIC %pip install --no-deps $wheel

# COMMAND ----------

# MAGIC %pip install "great-expectations==1.24.1" "deltalake>=1.6,<2" "mlflow==3.17.2"

# COMMAND ----------

dbutils.library.restartPython()  # noqa: F821

# COMMAND ----------

import datetime as dt
import os

from modelscale.catalog import Catalog
from modelscale.config.loader import CONF_ENV
from modelscale.runner import build_context

w = dbutils.widgets  # noqa: F821
if w.get("conf"):
    os.environ[CONF_ENV] = w.get("conf")
ctx = build_context(w.get("env"), w.get("pipeline"), [dt.date.today()], spark=spark)  # noqa: F821
lakehouse = ctx.lakehouse
rows = [lakehouse.info(n) for n in Catalog(ctx.settings, ctx.config.pipeline).names() if lakehouse.exists(n)]
display(spark.createDataFrame([(i.name, i.location, i.version, i.num_rows) for i in rows],  # noqa: F821
                              "table string, location string, version long, rows long"))

# COMMAND ----------

display(lakehouse.read(w.get("table")).limit(1000))  # noqa: F821
