"""Shared pieces of the arrowds benchmark harness (data, timing, reporting)."""
