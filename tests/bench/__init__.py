"""Smoke runs of the benchmarks in bench/, each once on a tiny sample (not timed)."""
