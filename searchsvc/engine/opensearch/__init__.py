"""The OpenSearch engine: the same queries, ranking and results over an OpenSearch cluster.

Text is analysed by searchsvc's own NLTK analyzer and sent as terms; the
ranking's per-word quantities are computed when a generation is loaded
(documents.py), so the cluster scores exactly as the embedded engine does.
"""
