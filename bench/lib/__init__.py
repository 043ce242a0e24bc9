"""Helpers shared by the benchmark scripts (a folder, so `.ci/run` does not run it as one)."""
