"""The jobs a pipeline runs, in order, and the registry the CLI and entry points use."""
