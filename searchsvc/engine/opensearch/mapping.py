"""Index settings and mappings of one generation: the article index and its term statistics.

The cluster never analyses text: searchsvc's own analyzer has already turned
it into stems, sent space-separated (`whitespace` keeps them, and their
positions, as they are). Scoring fields carry precomputed BM25F quantities as
term frequencies (`stem|frequency`), which a scripted similarity saturates
exactly as searchsvc's ranking does (documents.py says what each holds).
"""

from __future__ import annotations

FORMAT = 3  # bump when documents, fields or scoring change: older indexes are rebuilt
# A baked frequency f is sent as round(resolution * ln(1 + f / FLOOR)) (documents.Baking);
# RESOLUTION is the finest resolution, used unless an article is too long for it.
RESOLUTION = float(1 << 16)
FLOOR = 1e-4
MAX_TERM_CHARS = 4_000  # longer stems are cut: Lucene refuses terms over 32,766 bytes

# Fields holding `stem|u`: the BM25F frequency with the headline's weight (f_w) or
# weight 1 (f_1), each field's own normalised frequency, and occurrences in the lead.
SCALED_FIELDS = ("f_w", "f_1", "g_title", "g_body")
LEAD_FIELD = "lead"


def _saturation(k1: float, decoded: str) -> str:
    """Painless: BM25's saturation of the baked frequency, times the query's weight (the IDF)."""
    return f"double f = {decoded}; return query.boost * f * {k1 + 1!r} / (f + {float(k1)!r});"


def article_index(
    shards: int, replicas: int, k1: float, meta: dict, resolution: float = RESOLUTION
) -> dict:
    """The body of a create-index call for one generation's article index."""
    baked = {"type": "text", "analyzer": "baked", "index_options": "freqs", "norms": False}
    scaled = f"{FLOOR!r} * (Math.exp(doc.freq / {float(resolution)!r}) - 1.0)"
    positions = {"type": "text", "analyzer": "stems", "index_options": "positions", "norms": False}
    unindexed = {"type": "keyword", "index": False, "doc_values": False}
    properties = {
        "id": {"type": "keyword", "ignore_above": MAX_TERM_CHARS},
        "seq": {"type": "long"},  # the order articles were indexed in: ties go by it
        "hash": unindexed,  # the content hash, for incremental runs
        "record": unindexed,  # the article as JSON text, returned with hits
        "title": positions,
        "body": positions,
        "paras": {"type": "integer", "index": False, "doc_values": False},  # tokens per paragraph
        "date": {"type": "date", "format": "epoch_millis"},
        "source": {"type": "keyword", "ignore_above": MAX_TERM_CHARS},
        "topic": {"type": "keyword", "ignore_above": MAX_TERM_CHARS},
        # Near-duplicate versions of one story (index/duplicates.py): its number in this
        # generation, and the article's place among the story's ids in order.
        "story": {"type": "integer"},
        "story_place": {"type": "integer"},
        **{name: {**baked, "similarity": "saturated"} for name in SCALED_FIELDS},
        LEAD_FIELD: {**baked, "similarity": "lead"},
    }
    return {
        "settings": {
            "number_of_shards": shards,
            "number_of_replicas": replicas,
            "analysis": {
                "tokenizer": {
                    # In UTF-16 units: room for a cut stem of astral characters and its "|n".
                    "spaces": {"type": "whitespace", "max_token_length": 2 * MAX_TERM_CHARS + 16}
                },
                "analyzer": {
                    "stems": {"type": "custom", "tokenizer": "spaces"},
                    "baked": {
                        "type": "custom",
                        "tokenizer": "spaces",
                        "filter": ["delimited_term_freq"],
                    },
                },
            },
            "similarity": {
                "saturated": {"type": "scripted", "script": {"source": _saturation(k1, scaled)}},
                "lead": {"type": "scripted", "script": {"source": _saturation(k1, "doc.freq")}},
            },
        },
        "mappings": {
            "dynamic": "strict",
            "_meta": meta,
            # The baked fields are derived from title and body: not kept twice.
            "_source": {"excludes": [*SCALED_FIELDS, LEAD_FIELD]},
            "properties": properties,
        },
    }


def terms_index(shards: int, replicas: int, meta: dict) -> dict:
    """The generation's term statistics (one document per stem) and its other records."""
    count = {"type": "integer"}
    return {
        "settings": {"number_of_shards": shards, "number_of_replicas": replicas},
        "mappings": {
            "dynamic": "strict",
            "_meta": meta,
            "properties": {
                "kind": {"type": "keyword"},  # term, info, words, manifest, labels
                "term": {"type": "keyword", "ignore_above": MAX_TERM_CHARS},
                "t": count,  # articles whose headline has it
                "b": count,  # articles whose body has it
                "p": count,  # paragraphs that have it
                "bf": {"type": "long", "index": False},  # occurrences in bodies
                "part": {"type": "integer"},
                "data": {"type": "keyword", "index": False, "doc_values": False},
            },
        },
    }


def control_index() -> dict:
    """The one long-lived index beside the generations: the reindex lock."""
    return {
        "settings": {"number_of_shards": 1, "auto_expand_replicas": "0-2"},
        "mappings": {
            "dynamic": "strict",
            "properties": {
                "owner": {"type": "keyword"},
                "expires": {"type": "double"},
                "started": {"type": "double"},
            },
        },
    }
