"""The public pay page (D22, D32, spec §13.1/13.5): no login, rate limited per IP."""
