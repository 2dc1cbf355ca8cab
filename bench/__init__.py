"""Benchmarks: one documented command each, results as ratios against a baseline."""
