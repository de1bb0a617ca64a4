"""Unit tests: pure functions; no model, no index, no process; seconds in all (marker `unit`)."""
