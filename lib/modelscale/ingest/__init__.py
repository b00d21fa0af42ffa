"""Ingestion: landing files to bronze, quarantine and silver Delta tables (entry point: `job.run`)."""
