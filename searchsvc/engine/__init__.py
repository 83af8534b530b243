"""Search engines behind one interface (base.py): embedded Whoosh, and OpenSearch."""
