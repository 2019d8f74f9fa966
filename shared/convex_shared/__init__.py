"""The one Convex deployment HTTP client shared by source-convex and destination-convex."""
