"""Where files live, whatever the place: local paths and storage URIs (``s3a://``, ``abfss://``, ``gs://``,
``dbfs:/``, ``/Volumes/...``) for the Python side of a job (the driver's landing checks, the delta-rs engine's
files and log), and the object-store settings every client takes from one config section (`s3`)."""
