"""Benchmarks (one command each; see bench/README.md and docs/BENCHMARKS.md)."""
