"""``odyssee sync``: the agent that links an ERP database to the server, both directions (docs/integration.md)."""
