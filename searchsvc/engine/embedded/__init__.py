"""The embedded engine: Whoosh indexes on this machine, ranked by searchsvc's own scorer."""
