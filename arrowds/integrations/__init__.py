"""Framework and analytics integrations (L4): torch, tensorflow, pandas/polars/duckdb, HF."""
