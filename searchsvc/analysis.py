"""Where indexes written before the layered packages look for their analyzer.

Whoosh pickles the analyzer into each index by import path; those indexes name
this module. New code imports searchsvc.text.analysis.
"""

from searchsvc.text.analysis import FoldStemFilter, NltkTokenizer, snowball_stem

__all__ = ["FoldStemFilter", "NltkTokenizer", "snowball_stem"]
