"""A local Convex-compatible deployment for tests and demos."""
