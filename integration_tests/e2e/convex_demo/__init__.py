"""Helpers of `make demo` (and the PyAirbyte end-to-end test): servers, seed data, syncs, comparison."""
