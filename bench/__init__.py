"""Benchmarks: sosw-core against sosw 0.7.51 on one DynamoDB Local (see bench/README.md)."""
