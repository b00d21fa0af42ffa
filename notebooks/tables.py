# Databricks notebook source
# MAGIC %md
# MAGIC # modelscale: tables
# MAGIC
# MAGIC Every table the pipeline declares, with its location, Delta version and row count, and a
# MAGIC look at any one of them, addressed by logical name as the jobs address it.

# COMMAND ----------

dbutils.widgets.text("env", "databricks", "Environment")  # noqa: F821 (Databricks global)
dbutils.widgets.text("pipeline", "flights_delay", "Pipeline")  # noqa: F821
dbutils.widgets.text("table", "flights", "Table to show")  # noqa: F821

# COMMAND ----------

import datetime as dt

from modelscale.catalog import Catalog
from modelscale.runner import build_context

w = dbutils.widgets  # noqa: F821
ctx = build_context(w.get("env"), w.get("pipeline"), [dt.date.today()], spark=spark)  # noqa: F821
lakehouse = ctx.lakehouse
rows = [lakehouse.info(n) for n in Catalog(ctx.settings, ctx.config.pipeline).names() if lakehouse.exists(n)]
display(spark.createDataFrame([(i.name, i.location, i.version, i.num_rows) for i in rows],  # noqa: F821
                              "table string, location string, version long, rows long"))

# COMMAND ----------

display(lakehouse.read(w.get("table")).limit(1000))  # noqa: F821
