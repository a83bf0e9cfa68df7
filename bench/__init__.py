"""Benchmarks of the engine and the service, each against a baseline run in the same run."""
