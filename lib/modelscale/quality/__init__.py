"""Data quality: Great Expectations suites from config, quarantine, results history, Data Docs, gate."""
