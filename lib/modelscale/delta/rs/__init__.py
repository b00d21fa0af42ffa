"""The delta-rs engine: Spark computes, pyarrow writes parquet in the tasks, delta-rs commits."""
