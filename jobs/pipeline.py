"""spark-submit entry point: `spark-submit jobs/pipeline.py --env cluster --pipeline NAME --run-date D`."""

import sys

from modelscale.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", "pipeline", *sys.argv[1:]]))
