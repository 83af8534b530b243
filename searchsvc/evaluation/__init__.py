"""Judged evaluation: one set (runs.py) and the suite of sets (suite.py)."""
