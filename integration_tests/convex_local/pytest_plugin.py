"""pytest fixtures that start a local Convex-compatible deployment (filled in by the server work)."""
