"""The sosw-core side of the benchmark: one script per workload (interface in README.md)."""
