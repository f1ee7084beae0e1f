"""Benchmark code: the answer-quality harness, the peers it compares against, and its data."""
