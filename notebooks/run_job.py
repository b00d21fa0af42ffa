# Databricks notebook source
# MAGIC %md
# MAGIC # modelscale: run a job
# MAGIC
# MAGIC Runs one modelscale job (or the whole pipeline) on this notebook's Spark session with the
# MAGIC same code path as `spark-submit jobs/<job>.py` and the Airflow DAGs. Install the wheel on the
# MAGIC cluster first (or `%pip install` it); tables are written to Unity Catalog with `--env databricks`.

# COMMAND ----------

from modelscale.registry import JOBS

dbutils.widgets.dropdown("job", "ingest", [*JOBS, "pipeline"], "Job")  # noqa: F821 (Databricks global)
dbutils.widgets.text("env", "databricks", "Environment")  # noqa: F821
dbutils.widgets.text("pipeline", "flights_delay", "Pipeline")  # noqa: F821
dbutils.widgets.text("start", "2013-01-01", "First run date")  # noqa: F821
dbutils.widgets.text("end", "2013-01-01", "Last run date")  # noqa: F821

# COMMAND ----------

import datetime as dt

from modelscale.runner import build_context, run_dates, run_job, run_pipeline
from modelscale.secrets import redact

w = dbutils.widgets  # noqa: F821
dates = run_dates(start=dt.date.fromisoformat(w.get("start")), end=dt.date.fromisoformat(w.get("end")))
ctx = build_context(w.get("env"), w.get("pipeline"), dates, spark=spark)  # noqa: F821 (notebook session)
results = run_pipeline(ctx) if w.get("job") == "pipeline" else [run_job(w.get("job"), ctx)]
for r in results:
    print(r.job, "ok" if r.ok else "FAILED", redact(r.summary))

# COMMAND ----------

failed = [r for r in results if not r.ok]
if failed:
    raise RuntimeError(redact("; ".join(f"{r.job}: {r.message}" for r in failed)))
