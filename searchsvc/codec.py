"""Where indexes written before the layered packages look for their positions format.

Whoosh pickles field formats and the codec into each index by import path; those indexes name
this module. New code imports searchsvc.index.codec.
"""

from searchsvc.index.codec import PackedCodec, PackedPositions

__all__ = ["PackedCodec", "PackedPositions"]
