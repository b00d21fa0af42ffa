"""Gold feature table: one row per flight, point-in-time correct, rebuilt per run date."""
