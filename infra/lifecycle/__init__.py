"""The lifecycle core: the use cases every surface calls (and the stage table, results and stage functions)."""
