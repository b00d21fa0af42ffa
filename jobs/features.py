"""spark-submit entry point: `spark-submit jobs/features.py --env cluster --pipeline NAME --run-date D`."""

import sys

from modelscale.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", "features", *sys.argv[1:]]))
