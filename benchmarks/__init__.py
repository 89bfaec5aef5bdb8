"""Benchmarks for arrowds (not part of the installed package)."""
