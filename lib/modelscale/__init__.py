"""modelscale: Spark batch ML jobs from landing files to a model in production.

Import what you need from the submodules; importing the package itself is cheap
(no Spark, no MLflow) so that executors and the CLI start fast.
"""

__version__ = "0.1.0"
