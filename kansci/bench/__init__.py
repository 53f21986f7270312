"""Benchmarks: scripts that print figures (speed, snapping, Feynman recovery)."""
