# Databricks notebook source
# MAGIC %md
# MAGIC # modelscale: run a job
# MAGIC
# MAGIC Runs `modelscale run <job>` (or the whole pipeline) on this notebook's Spark session: the same command line
# MAGIC as `spark-submit jobs/<job>.py` and the Airflow tasks. The bundle's job (resources/*.yml) sets the widgets;
# MAGIC by hand, give `wheel` (the built wheel, e.g. the bundle-deployed
# MAGIC `/Workspace/Users/<you>/.bundle/modelscale/dev/files/dist/modelscale-0.1.0-py3-none-any.whl`) and a `run_date`
# MAGIC or `start` and `end`. `conf` is a conf directory (`MODELSCALE_CONF`); empty uses the wheel's packaged conf.

# COMMAND ----------

dbutils.widgets.text("wheel", "", "Wheel to install")  # noqa: F821 (Databricks global)
dbutils.widgets.text("conf", "", "Conf directory (empty: packaged)")  # noqa: F821
dbutils.widgets.dropdown("job", "ingest", ["ingest", "validate", "features", "train", "score", "monitor", "pipeline"],  # noqa: F821
                         "Job")
dbutils.widgets.text("env", "databricks", "Environment")  # noqa: F821
dbutils.widgets.text("pipeline", "", "Pipeline (empty: default_pipeline)")  # noqa: F821
dbutils.widgets.text("run_date", "", "Run date")  # noqa: F821
dbutils.widgets.text("start", "", "First run date (backfill)")  # noqa: F821
dbutils.widgets.text("end", "", "Last run date (backfill)")  # noqa: F821
dbutils.widgets.dropdown("when_due", "false", ["true", "false"], "Only when due")  # noqa: F821
wheel = dbutils.widgets.get("wheel")  # noqa: F821

# COMMAND ----------

# MAGIC %md
# MAGIC Install the wheel without its dependencies (the Runtime brings its own Spark, pandas, pyarrow and MLflow) and the
# MAGIC packages the ML Runtime lacks, at the versions pyproject.toml pins; then restart Python to import them.

# COMMAND ----------

# MAGIC %pip install --no-deps $wheel

# COMMAND ----------

# MAGIC %pip install "great-expectations==1.24.1" "deltalake>=1.6,<2" "mlflow==3.17.2"

# COMMAND ----------

dbutils.library.restartPython()  # noqa: F821

# COMMAND ----------

from modelscale.notebook import WIDGETS, run

print(run({name: dbutils.widgets.get(name) for name in WIDGETS}))  # noqa: F821
