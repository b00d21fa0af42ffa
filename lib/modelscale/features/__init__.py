"""Gold feature tables declared in config: SQL columns, lookups and history windows, point-in-time correct."""
