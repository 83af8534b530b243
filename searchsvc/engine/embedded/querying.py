"""What a user types -> Whoosh queries: one to rank articles, terms to pick snippets.

The syntax is the search-box one: words (any may match; more matches rank
higher), "quoted phrases", -excluded words, OR/AND/NOT, title:, source:,
topic: and date: (date:2017, date:[2017-01 to 2017-06]), and `*` for a
prefix. A question mark is punctuation, not a wildcard, so questions work.

Any text is searched: what does not parse, or goes past a bound below, is
read as plain words. The bounds are checked on the parsed query, so a query's
cost is bounded whatever its text looks like (docs/limits.md).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

from whoosh import query as Q
from whoosh.qparser import (
    FieldAliasPlugin,
    MultifieldPlugin,
    OrGroup,
    PlusMinusPlugin,
    QueryParser,
    WildcardPlugin,
)
from whoosh.qparser.dateparse import DateParserPlugin

from searchsvc.engine.embedded.ranking import (
    Coordinated,
    RankingSettings,
    body_words,
    proximity_clauses,
)
from searchsvc.text.analysis import TOKEN_PATTERN, stop_stems
from searchsvc.text.querylang import (
    FIELD_ALIASES,
    FILTER,
    FILTER_FIELDS,
    MAX_EXPANSIONS,
    MIN_WILDCARD_PREFIX,
    MINUS,
    PLUS,
    TEXT_FIELDS,
    as_read,
    normalise,
)

# What one query may cost, checked on the parsed tree (docs/limits.md says why).
MAX_PARSED_CHARS = 1_000  # longer text (a pasted paragraph) is plain words: parsing grows faster
MAX_DEPTH = 12  # nested query nodes; deeper text is searched as plain words
MAX_FILTERS = 8  # source:, topic: and date: filters kept when text is searched as plain words
MAX_SLOP = 20  # "a b"~N: a larger N is clamped (phrase work grows with it)
MAX_PHRASE_WORDS = 16  # a longer phrase is searched as its first 16 words
MAX_EXPANDED_TERMS = 64  # index words one wildcard matches: the most frequent
MAX_SCANNED_TERMS = 4_000  # index words looked at to choose them, for the whole query
MAX_DATE_RANGES = 8  # date ranges in one query; further ones are ignored
MAX_QUERY_WORDS = 64  # distinct words ranked: the rarest of a longer text
MAX_CLAUSES = 1_024  # term clauses after expansion; more: plain words
MAX_BOOST = 1_000.0  # word^N: a larger N is clamped (an infinite one would break scores)


class _StarWildcardPlugin(WildcardPlugin):
    qmarks = ""
    expr = r"(?P<text>[*])"


class _Degrade(Exception):
    """The parsed query goes past a bound that only plain words can keep."""


@dataclass(frozen=True)
class ParsedQuery:
    text: str  # the query as understood, whitespace-normalised
    article_query: Q.Query
    terms: frozenset[str]  # analysed words to look for in paragraphs and headlines
    match_all: bool  # nothing to rank by: every article matches


@dataclass(frozen=True)
class QueryCost:
    """What running a query costs, counted on its tree (tests assert on it, not on time)."""

    clauses: int  # term clauses, wildcard expansions counted term by term
    expansions: int  # distinct wildcards expanded (one may be searched in several fields)
    expanded_terms: int  # the most index words any one of them matches
    slop: int  # the largest phrase slop
    phrase_words: int  # the longest phrase
    depth: int


class NewsQueryParser(QueryParser):
    """Whoosh's multi-field parser (as MultifieldParser builds it), with the ranking
    settings that shape a query's any-word part."""

    def __init__(self, schema, title_boost: float, ranking: RankingSettings | None = None):
        super().__init__(None, schema, group=OrGroup)
        self.add_plugin(MultifieldPlugin(list(TEXT_FIELDS), fieldboosts={"title": title_boost}))
        self.ranking = ranking or RankingSettings()


def make_parser(
    schema, title_boost: float, ranking: RankingSettings | None = None
) -> NewsQueryParser:
    parser = NewsQueryParser(schema, title_boost, ranking)
    # `?` is punctuation in a question, not a wildcard: only `*` is (replace_plugin() would
    # keep Whoosh's own WildcardPlugin, which turned "prices?" into a pattern that finds nothing).
    parser.remove_plugin_class(WildcardPlugin)
    parser.add_plugin(_StarWildcardPlugin())
    # Signs only at the start of a word (querylang.SIGN).
    parser.add_plugin(PlusMinusPlugin(plusexpr=PLUS, minusexpr=MINUS))
    parser.add_plugin(DateParserPlugin(free=False))
    parser.add_plugin(FieldAliasPlugin({k: list(v) for k, v in FIELD_ALIASES.items()}))
    return parser


def parse(text: str, parser: QueryParser, reader) -> ParsedQuery:
    """Parse the user's text, within the bounds above; never raises for any text."""
    text = normalise(text)
    if not text:
        return ParsedQuery("", Q.Every(), frozenset(), match_all=True)
    ranking = parser.ranking if isinstance(parser, NewsQueryParser) else RankingSettings()
    query = None
    if len(text) <= MAX_PARSED_CHARS:
        try:
            # Not normalised by Whoosh: on deep nesting its normalize() copies each
            # subtree at every level; _bounded() checks the depth first.
            read = as_read(text)  # text in capitals: AND, OR, NOT; long text: -, +
            query = _bounded(parser.parse(read, normalize=False), parser, reader, ranking)
        except Exception:
            # Whoosh's parser raises anything from a bare Exception (date:[foo to bar]) to
            # NotImplementedError (a stray + in a group) or RecursionError; _Degrade is a
            # bound only plain words keep. Such text is searched as plain words.
            query = None
    if query is None:
        try:
            query = _bounded(_plain(text, parser), parser, reader, ranking)
        except Exception:
            query = Q.NullQuery  # not met in any test; still a search, not a 500
    return ParsedQuery(text, query, text_terms(query, reader), match_all=False)


def text_terms(query: Q.Query, reader) -> frozenset[str]:
    """The words of the query (wildcards expanded) that occur in the headline or body.

    Query.existing_terms() is not used: in whoosh3 3.54 its loop variable
    shadows its `fieldname` argument, so it drops every field after the first.
    """
    found = set()
    for leaf in _wanted_leaves(query):
        for field, word in leaf.expanded_terms(reader, phrases=True):
            if isinstance(word, bytes):  # a wildcard's words (Expansion) come as the index has them
                word = word.decode("utf-8", "replace")
            if field in TEXT_FIELDS and isinstance(word, str) and (field, word) in reader:
                found.add(word)
    return frozenset(found)


def _wanted_leaves(query: Q.Query):
    """The leaves of `query` but those of what it excludes (NOT x, -x, a ANDNOT x)."""
    stack = [query]
    while stack:
        node = stack.pop()
        if isinstance(node, Q.AndNot):
            stack.append(node.a)
        elif isinstance(node, Q.Not):
            continue
        elif node.is_leaf():
            yield node
        else:
            stack.extend(node.children())


def query_cost(query: Q.Query) -> QueryCost:
    """Count what `query` will make the engine do, without running it."""
    clauses = expanded = slop = phrase = depth = 0
    patterns = set()
    stack = [(query, 1)]
    while stack:
        node, level = stack.pop()
        depth = max(depth, level)
        if isinstance(node, Expansion):
            patterns.add(node.text)
            expanded = max(expanded, len(node.words))
            clauses += len(node.words)
        elif isinstance(node, Q.MultiTerm):  # not bounded: counted past every bound
            patterns.add(repr(node))
            expanded = max(expanded, MAX_EXPANDED_TERMS + 1)
            clauses += MAX_CLAUSES + 1
        elif isinstance(node, Q.Phrase):
            slop, phrase = max(slop, node.slop), max(phrase, len(node.words))
            clauses += len(node.words)
        elif node.is_leaf():
            clauses += 1
        stack.extend((child, level + 1) for child in node.children())
    return QueryCost(clauses, len(patterns), expanded, slop, phrase, depth)


class Expansion(Q.MultiTerm):
    """A wildcard resolved once to at most MAX_EXPANDED_TERMS index words.

    Scored as Whoosh scores the Prefix or Wildcard it replaces (a constant-score
    union of its words), but its words are fixed on the whole index, so every
    segment matches the same ones and their number is bounded.
    """

    constantscore = True

    def __init__(self, fieldname: str, text: str, words: tuple[bytes, ...], boost: float = 1.0):
        self.fieldname, self.text, self.words, self.boost = fieldname, text, tuple(words), boost

    def __eq__(self, other: object) -> bool:
        return type(other) is Expansion and (self.fieldname, self.text, self.words, self.boost) == (
            other.fieldname,
            other.text,
            other.words,
            other.boost,
        )

    def __hash__(self) -> int:
        return hash((self.fieldname, self.text, self.words, self.boost))

    def __repr__(self) -> str:
        return (
            f"Expansion({self.fieldname!r}, {self.text!r}, {len(self.words)}, boost={self.boost})"
        )

    def _btexts(self, ixreader):
        return self.words


class _Budget:
    """What is left to spend while one query is bounded."""

    def __init__(self):
        self.patterns: dict[str, bool] = {}  # wildcard text -> expanded (else plain words)
        self.scanned = 0
        self.date_ranges = 0


def _bounded(query: Q.Query, parser, reader, ranking: RankingSettings) -> Q.Query:
    """`query` within every bound, shaped by _refine(); raises _Degrade when only plain
    words can keep it within them."""
    if _depth(query) > MAX_DEPTH:  # as parsed: a bracket adds a level or two
        raise _Degrade("nested too deeply")
    budget = _Budget()
    if any(isinstance(node, Q.Not) for node in _nodes(query)):
        query = _exclusions(query)
    query = _clamped(_within(query, parser, reader, budget).normalize())
    query = _refine(query, ranking, reader)
    cost = query_cost(query)
    if cost.clauses > MAX_CLAUSES or cost.depth > MAX_DEPTH:
        raise _Degrade("too many clauses")
    return query


def _depth(query: Q.Query) -> int:
    """The tree's depth, without recursion: the tree may be deeper than Python's stack."""
    deepest, stack = 0, [(query, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if level <= MAX_DEPTH:
            stack.extend((child, level + 1) for child in node.children())
    return deepest


def _nodes(query: Q.Query):
    """Every node of `query`, without recursion."""
    stack = [query]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.children())


def _exclusions(node: Q.Query) -> Q.Query:
    """`oil NOT gas` as it is meant, oil without gas: Whoosh's any-word grouping made it
    "oil, or any article without gas". In a group of words with NOT clauses, the NOT
    clauses exclude from the others' matches (as `oil -gas` does); a group of NOT
    clauses alone matches every article with none of them.
    """
    if node.is_leaf():
        return node
    node = node.apply(_exclusions)
    if not isinstance(node, Q.Or):
        return node
    negated = [_negated(child) for child in node.subqueries]
    excluded = [query for query in negated if query is not None]
    kept = [child for child, query in zip(node.subqueries, negated, strict=True) if query is None]
    if not excluded or (not kept and len(excluded) == 1):
        return node
    if not kept:  # NOT a NOT b: every article with neither
        return Q.Not(Q.Or(excluded))
    wanted = copy.copy(node)
    wanted.subqueries = kept
    return Q.AndNot(wanted, excluded[0] if len(excluded) == 1 else Q.Or(excluded))


def _negated(node: Q.Query) -> Q.Query | None:
    """What `node` excludes when it is a NOT clause (in the groups of one Whoosh wraps)."""
    while isinstance(node, (Q.Or, Q.And)) and len(node.subqueries) == 1:
        node = node.subqueries[0]
    return node.query if isinstance(node, Q.Not) else None


def _within(node: Q.Query, parser, reader, budget: _Budget) -> Q.Query:
    """One node and its children, each brought within its bound."""
    if not node.is_leaf():
        node = node.apply(lambda child: _within(child, parser, reader, budget))
        if isinstance(node, Q.Not):
            # Whoosh walks every document for a Not, a step at a time; everything except
            # its matches is the same set, with the same score (1), and one array step.
            node = Q.AndNot(Q.Every(), node.query)
    elif isinstance(node, Q.DateRange):
        budget.date_ranges += 1
        if budget.date_ranges > MAX_DATE_RANGES:
            return Q.NullQuery
    elif isinstance(node, Q.Phrase) and len(node.words) == 1:
        # A quoted word is the word, headline weight included (Whoosh's normalize() drops
        # the boost of a one-word phrase).
        node = Q.Term(node.fieldname, node.words[0], boost=node.boost)
    elif isinstance(node, Q.Phrase):
        node = copy.copy(node)
        node.words = list(node.words[:MAX_PHRASE_WORDS])
        if node.char_ranges:
            node.char_ranges = node.char_ranges[:MAX_PHRASE_WORDS]
        node.slop = max(1, min(node.slop, MAX_SLOP))
    elif isinstance(node, Q.TermRange):
        # A range of words would expand to every word between them: its words instead.
        node = _words(node.fieldname, f"{node.start or ''} {node.end or ''}", parser, node.boost)
    elif isinstance(node, (Q.PatternQuery, Q.Every)):
        node = _expansion(node, parser, reader, budget)
    elif not isinstance(node, Q.Term) and node is not Q.NullQuery:
        raise _Degrade(f"no bound known for {type(node).__name__}")
    return node


def _clamped(node: Q.Query) -> Q.Query:
    """Boosts at most MAX_BOOST, after normalize() has multiplied them down the tree."""
    if not node.is_leaf():
        node = node.apply(_clamped)
    if getattr(node, "boost", 1.0) > MAX_BOOST:
        node = copy.copy(node)
        node.boost = MAX_BOOST
    return node


def _expansion(node: Q.Query, parser, reader, budget: _Budget) -> Q.Query:
    """A wildcard as its most frequent words; plain words when its prefix is too short
    or the query already has MAX_EXPANSIONS of them."""
    fieldname = node.fieldname
    text = "" if isinstance(node, Q.Every) else node.text
    pattern = text + "*" if isinstance(node, Q.Prefix) else text or "*"
    prefix = re.split(r"[*?\[]", pattern, maxsplit=1)[0]
    if fieldname is None or fieldname not in reader.schema:
        return Q.NullQuery
    if pattern not in budget.patterns:
        wanted = len(prefix) >= MIN_WILDCARD_PREFIX
        budget.patterns[pattern] = wanted and sum(budget.patterns.values()) < MAX_EXPANSIONS
    if not budget.patterns[pattern]:
        return _words(fieldname, pattern.replace("*", " "), parser, node.boost)
    matches = node.normalize() if isinstance(node, Q.Wildcard) else node
    if not isinstance(matches, Q.PatternQuery):
        return matches if isinstance(matches, Q.Term) else Q.NullQuery
    found = []
    for btext in matches._btexts(reader):
        if budget.scanned >= MAX_SCANNED_TERMS:
            break
        budget.scanned += 1
        found.append((-reader.doc_frequency(fieldname, btext), btext))
    words = sorted(btext for _df, btext in sorted(found)[:MAX_EXPANDED_TERMS])
    return Expansion(fieldname, pattern, tuple(words), node.boost) if words else Q.NullQuery


def _words(fieldname: str, text: str, parser, boost: float) -> Q.Query:
    """Plain words of `text` in one field, analysed as that field indexes them."""
    field = parser.schema[fieldname]
    try:
        words = list(dict.fromkeys(field.process_text(text, mode="query")))
    except Exception:
        return Q.NullQuery
    terms = [Q.Term(fieldname, word, boost=boost) for word in words if word]
    return Q.Or(terms).normalize() if terms else Q.NullQuery


_TOKEN = re.compile(TOKEN_PATTERN)


def _plain(text: str, parser) -> Q.Query:
    """The text as plain words, as the parser reads words typed alone, keeping the
    first MAX_FILTERS field filters (source:, topic:, date:) that parse."""
    filters, words, start = [], [], 0
    for match in FILTER.finditer(text):
        if len(filters) >= MAX_FILTERS:
            break
        try:
            parsed = parser.parse(match.group(0))
        except Exception:
            continue
        if parsed is not Q.NullQuery and _is_filter(parsed):
            filters.append(parsed)
            words.append(text[start : match.start()])
            start = match.end()
    words.append(text[start:])
    boosts = getattr(parser, "fieldboosts", {})
    clauses = []
    for token in dict.fromkeys(_TOKEN.findall(" ".join(words))):
        for fieldname in TEXT_FIELDS:
            for word in parser.schema[fieldname].process_text(token, mode="query"):
                clauses.append(Q.Term(fieldname, word, boost=boosts.get(fieldname, 1.0)))
    return Q.Or(clauses + filters) if clauses or filters else Q.NullQuery


def _refine(query: Q.Query, ranking: RankingSettings, reader) -> Q.Query:
    """Shape the parsed query the way a search box user means it.

    Field restrictions on metadata (source:, date:, topic:) filter rather than
    compete with words: "oil source:reuters" means oil, from Reuters. Function
    words leave the any-word part unless nothing else is left; of a long text,
    the MAX_QUERY_WORDS rarest words are ranked.
    """
    if isinstance(query, (Q.AndNot, Q.AndMaybe)):
        refined = query.__class__(_refine(query.a, ranking, reader), query.b)
        refined.boost = query.boost
        return refined
    if not isinstance(query, Q.Or):
        return query
    filters = [child for child in query.subqueries if _is_filter(child)]
    words = [child for child in query.subqueries if not _is_filter(child)]
    kept = _rarest([child for child in words if not _is_stop_clause(child)] or words, reader)
    ranked = _rank(kept, query.boost, ranking) if kept else None
    if not filters:
        return ranked
    required = _combine_filters(filters)
    return Q.And([ranked, required]) if ranked is not None else required


def _rank(clauses: list[Q.Query], boost: float, ranking: RankingSettings) -> Q.Query:
    """The any-word part: optionally coordinated per word, plus near-phrase clauses."""
    groups = _word_groups(clauses)
    if ranking.coordination > 0 and len(groups) > 1:
        subqueries = [Q.Or(group).normalize() for group in groups]
        words = Coordinated(subqueries, boost=boost, exponent=ranking.coordination)
    else:
        words = Q.Or(clauses, boost=boost).normalize()
    near = []
    if ranking.proximity_boost > 0:
        near = proximity_clauses(
            body_words(clauses), ranking.proximity_boost, ranking.proximity_slop
        )
    return Q.Or([words, *near]).normalize() if near else words


def _word_groups(clauses: list[Q.Query]) -> list[list[Q.Query]]:
    """One group per query word: the same analysed word in headline and body is one word."""
    groups: dict[object, list[Q.Query]] = {}
    for clause in clauses:
        key = clause.text if isinstance(clause, Q.Term) else id(clause)
        groups.setdefault(key, []).append(clause)
    return list(groups.values())


def _rarest(clauses: list[Q.Query], reader) -> list[Q.Query]:
    """The clauses of the MAX_QUERY_WORDS rarest words (fewest articles), in query order.

    Rare words carry a long text's meaning and cost least; a phrase or wildcard counts
    as one word, and as a rare one.
    """
    groups = _word_groups(clauses)
    if len(groups) <= MAX_QUERY_WORDS:
        return clauses

    def frequency(group: list[Q.Query]) -> int:
        terms = [clause for clause in group if type(clause) is Q.Term]
        terms.sort(key=lambda term: term.fieldname != "body")  # the body's count, if any
        return reader.doc_frequency(terms[0].fieldname, terms[0].text) if terms else 0

    ranked = sorted(range(len(groups)), key=lambda n: (frequency(groups[n]), n))
    kept = {id(clause) for n in ranked[:MAX_QUERY_WORDS] for clause in groups[n]}
    return [clause for clause in clauses if id(clause) in kept]


def _combine_filters(filters: list[Q.Query]) -> Q.Query:
    """Alternatives on one field widen (source:a source:b); different fields narrow."""
    by_field: dict[str, list[Q.Query]] = {}
    for clause in filters:
        by_field.setdefault(_fields(clause).pop(), []).append(clause)
    groups = [Q.Or(group).normalize() for group in by_field.values()]
    return groups[0] if len(groups) == 1 else Q.And(groups)


def _fields(query: Q.Query) -> set[str | None]:
    leaves = [query] if query.is_leaf() else list(query.leaves())
    return {getattr(leaf, "fieldname", None) for leaf in leaves}


def _is_filter(query: Q.Query) -> bool:
    fields = _fields(query)
    return len(fields) == 1 and fields <= FILTER_FIELDS


# Function words elsewhere, content words in news: the US, May, a will, a can. Kept in
# queries (bbc-titles MRR@10 +0.003, Reuters titles +0.001, questions unchanged).
NEWS_CONTENT_WORDS = frozenset({"us", "may", "will", "can", "might", "shall"})


def _is_stop_clause(query: Q.Query) -> bool:
    stops = stop_stems() - NEWS_CONTENT_WORDS
    if isinstance(query, Q.Term):
        return query.fieldname in TEXT_FIELDS and query.text in stops
    return False
