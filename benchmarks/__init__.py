"""Reproducible speed and memory measurements for searchsvc: `python -m benchmarks --help`."""
