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
SCREENSHOT := $(PY) scripts/screenshot_report.py  # make report-screenshot
export PYSPARK_PYTHON := $(abspath $(PY))
# make dist: the wheel, the packed environment for executors and the spark-submit entry points (README, "Running
# elsewhere"). The environment is a venv of the wheel and its dependencies at the versions .venv holds, packed with
# venv-pack; .dist-env is rebuilt only when the dependencies change, the wheel and the archive when the code does.
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
WHEEL := dist/modelscale-$(VERSION)-py3-none-any.whl
ENV_ARCHIVE := dist/modelscale-env.tar.gz
DIST_ENV := .dist-env
DIST_ENV_STAMP := $(DIST_ENV)/.installed
# pyproject's extras the packed environment carries beside the dependencies, so every shipped option runs on a
# cluster: s3 (boto3, for MLflow artifacts on S3) and xgboost (its estimators run in the executors' Python).
DIST_EXTRAS := s3 xgboost
PACKAGE_FILES := $(shell find lib/modelscale conf -type f ! -path '*/__pycache__/*') pyproject.toml

.PHONY: setup java delta-jars s3a-jars pushgateway demo report-screenshot test bench clean dist test-cluster

setup: java $(STAMP) delta-jars s3a-jars pushgateway $(AIRFLOW_STAMP)

java:
	@bash scripts/ensure_java.sh

# The native Delta engine's jars, fetched once from Maven Central into .jars/delta (a no-op when they match
# the installed delta-spark and pyspark). If the fetch fails it says so in one line and jobs use delta-rs.
delta-jars: $(STAMP)
	@$(PY) scripts/fetch_delta_jars.py

# Spark's S3A connector (s3a://): hadoop-aws at pyspark's Hadoop and the AWS SDK modules it uses (13 MB, not the SDK's
# 600 MB bundle), fetched once into .jars/s3a. If the fetch fails it says so in one line and the S3 test is skipped.
s3a-jars: $(STAMP)
	@$(PY) scripts/fetch_s3a_jars.py

# The Prometheus Pushgateway the metrics test pushes to (3 MB, Debian's package unpacked into .tools/pushgateway; a
# no-op once there). If it cannot be had the script says so in one line and that test is skipped.
pushgateway:
	@bash scripts/fetch_pushgateway.sh

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
	@# show the tables and screenshot the report whatever happened, then exit with the pipeline's status
	$(VENV)/bin/modelscale run pipeline --start $(DEMO_START) --end $(DEMO_END); status=$$?; \
	  $(VENV)/bin/modelscale tables; $(SCREENSHOT); exit $$status

# <report dir>/screenshot.png of each monitoring report, drawn by headless Chromium (scripts/screenshot_report.py).
# Chromium is not part of make setup (a browser and its libraries, hundreds of MB, from the system's packages):
# without it this prints why it was skipped and succeeds.
report-screenshot: $(STAMP)
	@$(SCREENSHOT)

test: setup dist
	$(VENV)/bin/pytest -q

# The built artifacts spark-submitted to a standalone cluster alone (tests/test_cluster_submit.py; part of make test).
test-cluster: setup dist
	$(VENV)/bin/pytest -q -m artifacts

dist: $(WHEEL) $(ENV_ARCHIVE) dist/jobs

# Built from the checkout with .venv's setuptools (no build isolation: nothing to download when the code changes).
$(WHEEL): $(STAMP) $(PACKAGE_FILES)
	@mkdir -p dist && rm -f dist/modelscale-*.whl
	$(PY) -m pip wheel --quiet --no-deps --no-build-isolation -w dist .

# Needs the package index (the wheel's dependencies, pinned to .venv's versions): done by make dist, never by a test.
$(DIST_ENV_STAMP): pyproject.toml $(STAMP) Makefile
	rm -rf $(DIST_ENV)
	$(PYTHON) -m venv $(DIST_ENV)
	$(PY) -m pip freeze --exclude-editable > $(DIST_ENV)/constraints.txt
	$(DIST_ENV)/bin/python -m pip install --quiet --upgrade pip
	$(PYTHON) -c "import sys, tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
	  print('\n'.join(p['dependencies'] + [d for e in sys.argv[1:] for d in p['optional-dependencies'][e]]))" \
	  $(DIST_EXTRAS) > $(DIST_ENV)/requirements.txt
	$(DIST_ENV)/bin/python -m pip install --quiet -c $(DIST_ENV)/constraints.txt -r $(DIST_ENV)/requirements.txt
	@touch $(DIST_ENV_STAMP)

# Executors (and a spark-submit driver) take the JVM from the cluster's Spark: pyspark's own jars (430 MB) stay out.
$(ENV_ARCHIVE): $(WHEEL) $(DIST_ENV_STAMP)
	$(DIST_ENV)/bin/python -m pip install --quiet --no-index --no-deps --force-reinstall $(WHEEL)
	$(VENV)/bin/venv-pack --prefix $(DIST_ENV) --output $@.tmp --format tar.gz --compress-level 1 \
	  --exclude 'lib/python3.11/site-packages/pyspark/jars/*' --force --quiet
	@mv $@.tmp $@

dist/jobs: $(wildcard jobs/*.py)
	@mkdir -p $@ && cp jobs/*.py $@/ && touch $@

bench: java $(STAMP) delta-jars
	$(PY) benchmarks/run.py

clean:
	rm -rf .modelscale spark-warehouse metastore_db derby.log dist $(DIST_ENV)
