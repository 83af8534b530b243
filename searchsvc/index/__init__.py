"""The index on disk: generations, the CURRENT pointer, the lock, the schema and the writers."""
