"""Engines, sessions and migrations: the only place that knows which database engine is in use."""
