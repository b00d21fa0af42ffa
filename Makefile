# Two commands for a fresh machine: `make demo` and `make test`. Both build the environment.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
AIRFLOW_VENV := .venv-airflow
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed
DEMO_START ?= 2013-01-01
DEMO_END ?= 2013-01-17
export PYSPARK_PYTHON := $(abspath $(PY))

.PHONY: setup java delta-jars demo test bench clean

setup: java $(STAMP) delta-jars $(AIRFLOW_STAMP)

java:
	@bash scripts/ensure_java.sh

# The native Delta engine's jars, fetched once from Maven Central into .jars/delta (a no-op when they match
# the installed delta-spark and pyspark). If the fetch fails it says so in one line and jobs use delta-rs.
delta-jars: $(STAMP)
	@$(PY) scripts/fetch_delta_jars.py

# Reinstall only when the dependency list changes: `make setup` is fast when already done.
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required: install it and/or run make PYTHON=/path/to/python3.11"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

# The scheduler's own environment: Airflow's Spark provider pulls pyspark-client, which must not
# shadow the jobs' full pyspark. The package goes in without dependencies (the DAGs only read config).
$(AIRFLOW_STAMP): pyproject.toml
	@test -x $(AIRFLOW_VENV)/bin/python || $(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet $$($(PYTHON) -c "import tomllib; print(' '.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['airflow']))")
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet --no-deps -e .
	@touch $(AIRFLOW_STAMP)

demo: java $(STAMP) delta-jars  # the demo needs no Airflow environment
	$(VENV)/bin/modelscale demo-data --start $(DEMO_START) --end $(DEMO_END)
	@# show the tables whatever happened, then exit with the pipeline's status
	$(VENV)/bin/modelscale run pipeline --start $(DEMO_START) --end $(DEMO_END); status=$$?; \
	  $(VENV)/bin/modelscale tables; exit $$status

test: setup
	$(VENV)/bin/pytest -q

bench: java $(STAMP) delta-jars
	$(PY) benchmarks/run.py

clean:
	rm -rf .modelscale spark-warehouse metastore_db derby.log
