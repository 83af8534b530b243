"""Settings, each declared once: name, default, environment variable and help."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def _paths(value: str | list | tuple) -> tuple[Path, ...]:
    if isinstance(value, str):
        value = [part for part in value.split(os.pathsep) if part]
    return tuple(Path(part) for part in value)


def _at_least(kind: Callable[[Any], Any], minimum: int) -> Callable[[Any], Any]:
    """A converter to `kind` that refuses numbers below `minimum`."""

    def convert(value: Any):
        number = kind(value)
        if number < minimum:
            limit = "must not be negative" if minimum == 0 else f"must be at least {minimum}"
            raise ValueError(f"{limit}, got {number}")
        return number

    return convert


_positive_int = _at_least(int, 1)
_non_negative_int = _at_least(int, 0)
_non_negative_float = _at_least(float, 0)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false")


def _engine(value: Any) -> str:
    name = str(value).strip().lower()
    if name not in ENGINES:
        raise ValueError(f"must be one of {', '.join(ENGINES)}")
    return name


ENGINES = ("whoosh", "opensearch")


def _base_url(value: Any) -> str:
    """An absolute http(s) address without a trailing slash, or "" for none."""
    text = str(value).strip().rstrip("/")
    if not text:
        return ""
    scheme, sep, rest = text.partition("://")
    if not sep or scheme.lower() not in ("http", "https") or not rest or "?" in text:
        raise ValueError("must be an http:// or https:// address without a query")
    return text


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    convert: Callable[[Any], Any]

    @property
    def env(self) -> str:
        return "SEARCHSVC_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "engine",
        "whoosh",
        "Search engine: whoosh (embedded, an index directory on this machine) or opensearch "
        "(a cluster; see the opensearch_* settings and docs/scaling.md).",
        _engine,
    ),
    Setting("index", "index", "Directory that holds the search index (engine whoosh).", Path),
    Setting(
        "corpus",
        "corpus",
        "Corpus files or directories to index (the environment variable separates "
        "several with ':').",
        _paths,
    ),
    Setting("host", "127.0.0.1", "Address the server listens on.", str),
    Setting("port", 8080, "Port the server listens on.", int),
    Setting("workers", 2, "Server worker processes.", _positive_int),
    Setting(
        "threads",
        32,
        "Threads per server worker process. A thread waiting for a slow client costs "
        "little; at most max_pending_searches of them search at once.",
        _positive_int,
    ),
    Setting(
        "lock_timeout",
        0.0,
        "Seconds a reindex waits for another running reindex before giving up.",
        _non_negative_float,
    ),
    Setting(
        "max_query_length",
        10_000,
        "Longest query accepted, in characters (a pasted paragraph is searched by its key "
        "words, see rank_key_words).",
        _positive_int,
    ),
    Setting("max_page_size", 100, "Most hits on one page.", _positive_int),
    Setting(
        "max_result_window",
        10_000,
        "Deepest hit that can be paged to (page x size).",
        _positive_int,
    ),
    Setting(
        "public_url",
        "",
        "The address readers reach this service at (https://news.example.org); feeds and "
        "exports use it for absolute links. Empty: links are relative, never taken from the "
        "request's Host header.",
        _base_url,
    ),
    Setting(
        "max_pending_searches",
        8,
        "Searches one server worker holds at once, running or waiting; past it a search "
        "is answered 503 at once instead of queueing.",
        _positive_int,
    ),
    Setting(
        "request_timeout",
        5,
        "Seconds a client has to send a whole request, counted from its first byte; "
        "a slower client is disconnected.",
        _positive_int,
    ),
    Setting("snippets_per_hit", 3, "Most highlighted paragraphs shown for one hit.", _positive_int),
    Setting("title_boost", 3.0, "Weight of a headline match against a body match.", float),
    # Ranking (engine/embedded/ranking.py); each default is the best measured in docs/ranking.md.
    Setting(
        "rank_k1", 1.2, "BM25 K1: how fast repeated words stop adding score.", _non_negative_float
    ),
    Setting(
        "rank_body_b",
        0.65,
        "BM25 B for the article text: length normalisation, 0-1.",
        _non_negative_float,
    ),
    Setting("rank_title_b", 0.75, "BM25 B for the headline.", _non_negative_float),
    Setting(
        "rank_lead_words",
        30,
        "Words at the start of an article that count as its lead (0 turns lead credit off).",
        _non_negative_int,
    ),
    Setting(
        "rank_lead_weight",
        0.5,
        "Most extra credit for a query word found in the lead, relative to its BM25 weight; "
        "scaled by how much this index's leads restate their articles (measured).",
        _non_negative_float,
    ),
    Setting(
        "rank_feedback_words",
        6,
        "Distinct query words from which pseudo-relevance feedback applies (0 = off).",
        _non_negative_int,
    ),
    Setting("rank_feedback_docs", 10, "Top articles feedback reads.", _positive_int),
    Setting("rank_feedback_terms", 20, "Words feedback adds to a query.", _positive_int),
    Setting(
        "rank_feedback_weight",
        0.5,
        "Weight of the words feedback adds, together, relative to the query's own.",
        _non_negative_float,
    ),
    Setting(
        "rank_key_words",
        64,
        "Most distinct words a long text is searched by: the most repeated and rarest.",
        _positive_int,
    ),
    Setting(
        "rank_coordination",
        0.0,
        "Exponent on the share of query words an article matches (0 = off).",
        _non_negative_float,
    ),
    Setting(
        "rank_proximity_boost",
        0.0,
        "Weight of near-phrase clauses for neighbouring query words (0 = off).",
        _non_negative_float,
    ),
    Setting(
        "rank_proximity_slop",
        3,
        "How many words apart neighbouring query words may be for the proximity boost.",
        _positive_int,
    ),
    Setting(
        "rank_typo_tolerance",
        True,
        "Also find misspelled words' corrections and the last word as a prefix, ranked "
        "below exact matches (true/false).",
        _boolean,
    ),
)

# The OpenSearch engine's cluster (engine opensearch).
SETTINGS += (
    Setting(
        "opensearch_url",
        "",
        "OpenSearch node URLs, comma-separated (http:// or https://).",
        str,
    ),
    Setting(
        "opensearch_index",
        "searchsvc",
        "Name of the alias readers search; each generation is an index <name>-g<N>.",
        str,
    ),
    Setting("opensearch_user", "", "User for a cluster that asks for one.", str),
    Setting("opensearch_password", "", "That user's password.", str),
    Setting("opensearch_ca_certs", "", "CA bundle for an https cluster with its own CA.", str),
    Setting("opensearch_verify_certs", True, "Check the cluster's TLS certificate.", _boolean),
    Setting(
        "opensearch_shards",
        3,
        "Primary shards of each new generation's article index; aim at 10-50 GB each, "
        "a multiple of the data nodes (applies from the next reindex).",
        _positive_int,
    ),
    Setting(
        "opensearch_replicas",
        1,
        "Copies of each shard on other nodes: at least 1 so that a lost node loses "
        "nothing; 0 for a one-node cluster (applies from the next reindex).",
        _non_negative_int,
    ),
    Setting(
        "opensearch_timeout",
        10.0,
        "Seconds to wait for the cluster before answering 503.",
        _non_negative_float,
    ),
)

_BY_NAME = {setting.name: setting for setting in SETTINGS}


class Config(dict):
    """A mapping of every setting to its value; attribute access for convenience."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def load_config(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """Defaults, then environment variables, then explicit overrides (None is ignored)."""
    environ = os.environ if environ is None else environ
    config = Config()
    for setting in SETTINGS:
        raw = setting.default
        source = "default"
        if setting.env in environ:
            raw, source = environ[setting.env], setting.env
        if overrides and overrides.get(setting.name) is not None:
            raw, source = overrides[setting.name], f"--{setting.name.replace('_', '-')}"
        try:
            config[setting.name] = setting.convert(raw)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{source}: bad value {raw!r} for {setting.name}: {error}") from None
    unknown = set(overrides or {}) - set(_BY_NAME)
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
    return config


def setting_help(name: str) -> str:
    """Help text for a command-line option, naming its environment variable."""
    setting = _BY_NAME[name]
    return f"{setting.help} [env {setting.env}; default {setting.default}]"
