"""What the search box text becomes: word groups, stopwords, filters, ranking clauses, bounds."""

from __future__ import annotations

import string

import pytest
from whoosh import query as Q
from whoosh.filedb.filestore import RamStorage

from searchsvc.engine.embedded.querying import (
    MAX_BOOST,
    MAX_CLAUSES,
    MAX_DEPTH,
    MAX_EXPANDED_TERMS,
    MAX_EXPANSIONS,
    MAX_PARSED_CHARS,
    MAX_PHRASE_WORDS,
    MAX_QUERY_WORDS,
    MAX_SLOP,
    Expansion,
    make_parser,
    parse,
    query_cost,
)
from searchsvc.engine.embedded.ranking import Coordinated, RankingSettings
from searchsvc.index.schema import article_schema


@pytest.fixture(scope="module")
def reader():
    ix = RamStorage().create_index(article_schema())
    with ix.writer() as writer:
        writer.add_document(id="a", title="Oil prices", body="Oil prices rose.", record="{}")
    with ix.searcher() as searcher:
        yield searcher.reader()


def parsed(text, reader, **ranking):
    parser = make_parser(article_schema(), 2.0, RankingSettings(**ranking))
    return parse(text, parser, reader)


def leaves(query):
    return [query] if query.is_leaf() else list(query.leaves())


def test_question_words_leave_the_any_word_part(reader):
    query = parsed("What did the oil minister say about prices?", reader).article_query
    assert {leaf.text for leaf in leaves(query)} == {"oil", "minist", "say", "price"}


def test_words_that_carry_meaning_in_news_are_not_pruned(reader):
    query = parsed("Will the US raise rates in May?", reader).article_query
    assert {leaf.text for leaf in leaves(query)} == {"will", "us", "rais", "rate", "may"}


def test_only_stopwords_are_kept_when_nothing_else_is_left(reader):
    query = parsed("what is it", reader).article_query
    assert {leaf.text for leaf in leaves(query)} == {"what", "is", "it"}


def test_coordination_groups_each_word_across_headline_and_body(reader):
    query = parsed("oil prices", reader, coordination=1.0).article_query
    assert isinstance(query, Coordinated) and query.exponent == 1.0
    groups = [{(leaf.fieldname, leaf.text) for leaf in leaves(group)} for group in query]
    assert groups == [{("title", "oil"), ("body", "oil")}, {("title", "price"), ("body", "price")}]


def test_a_single_word_needs_no_coordination(reader):
    query = parsed("oil", reader, coordination=1.0).article_query
    assert not isinstance(query, Coordinated)


def test_proximity_adds_near_phrase_clauses_for_neighbouring_words(reader):
    query = parsed("oil prices rise", reader, proximity_boost=0.2, proximity_slop=4).article_query
    phrases = [clause for clause in query.subqueries if isinstance(clause, Q.Phrase)]
    assert [tuple(p.words) for p in phrases] == [("oil", "price"), ("price", "rise")]
    assert all(p.slop == 4 and p.boost == 0.2 for p in phrases)


def test_filters_stay_required_with_the_ranking_clauses(reader):
    query = parsed("oil prices source:reuters", reader, coordination=1.0).article_query
    assert isinstance(query, Q.And)
    assert Q.Term("source", "reuters") in list(query.subqueries)
    assert any(isinstance(clause, Coordinated) for clause in query.subqueries)


def test_terms_for_highlighting_include_coordinated_words(reader):
    assert parsed("oil prices", reader, coordination=1.0).terms == {"oil", "price"}


PASTED = {
    # Forum subject lines and small ads: Whoosh's parser raised on the first two
    # (a stray + inside brackets), the others were refused for their `**`.
    "Superstars and attendance (was Teemu Selanne, was +/- leaders)":
        {"superstar", "attend", "teemu", "selann", "leader"},
    "Strange phenomens in NHL (was: Team leaders in +/-)":
        {"strang", "phenomen", "nhl", "team", "leader"},
    "** Oscilloscope for sale $99 + probes $25 ea. **":
        {"oscilloscop", "sale", "99", "probe", "25", "ea"},
    "Borland C++ 3.1 w/App Frmwrks ** FORSALE **":
        {"borland", "c", "3.1", "w", "app", "frmwrks", "forsal"},
    # Unreadable dates and fields that index nothing: their words.
    "date:[foo to bar]": {"date", "foo", "bar"},
    "oil date:[2017 to someday]": {"oil", "date", "2017", "someday"},
    "record:x": {"record", "x"},
    "title:(date:0000)": {"titl", "date", "0000"},
    # A `*` with fewer than two letters before it is punctuation; a range of words, its words.
    "a* oil": {"oil"},
    "*a": {"a"},
    "m*t": {"m", "t"},
    "[oil to zinc]": {"oil", "zinc"},
    "body:[oil to]": {"oil"},
}  # fmt: skip


@pytest.mark.parametrize("text, words", PASTED.items())
def test_text_that_does_not_parse_is_searched_as_its_words(reader, text, words):
    query = parsed(text, reader).article_query
    assert {leaf.text for leaf in leaves(query)} == words


@pytest.mark.parametrize("text", ["*", "**", "*:*", "title:*", "-", '"', "((((", "+/-"])
def test_text_without_words_finds_nothing_rather_than_everything(reader, text):
    result = parsed(text, reader)
    assert result.article_query is Q.NullQuery and not result.match_all


def test_filters_that_parse_survive_the_fallback_to_plain_words(reader):
    query = parsed("x (was +/- y) source:reuters date:1987", reader).article_query
    assert isinstance(query, Q.And)
    fields = {leaf.fieldname for leaf in leaves(query)}
    assert fields == {"title", "body", "source", "date"}


def test_a_sign_before_a_word_still_requires_or_excludes_it(reader):
    query = parsed("+oil -gas", reader).article_query
    assert isinstance(query, Q.AndNot)
    assert {leaf.text for leaf in leaves(query.b)} == {"gas"}


@pytest.mark.parametrize(
    "text, slop",
    [('"said mln"~999999999', MAX_SLOP), ('"said mln"~10000', MAX_SLOP), ('"said mln"~5', 5),
     ('"said mln"~' + str(MAX_SLOP), MAX_SLOP), ('" said mln"~' + "9" * 400, MAX_SLOP)],
)  # fmt: skip
def test_phrase_slop_is_clamped(reader, text, slop):
    query = parsed(text, reader).article_query
    assert {leaf.slop for leaf in leaves(query)} == {slop}


def test_a_long_phrase_is_searched_by_its_first_words(reader):
    words = [f"w{n}" for n in range(40)]
    query = parsed('"' + " ".join(words) + '"', reader).article_query
    assert all(leaf.words == words[:MAX_PHRASE_WORDS] for leaf in leaves(query))


@pytest.fixture(scope="module")
def vocabulary_reader():
    """Enough words for wildcards to reach their bounds: ma<j>x is in fewer articles as j grows,
    ba<n>x, ca<n>x and da<n>x in one article each."""
    ix = RamStorage().create_index(article_schema())
    with ix.writer() as writer:
        for n in range(300):
            common = " ".join(f"ma{j:03d}x" for j in range(n % 150))
            body = f"{common} ba{n:03d}x ca{n:03d}x da{n:03d}x"
            writer.add_document(id=str(n), title="", body=body, record="{}")
    with ix.searcher() as searcher:
        yield searcher.reader()


def test_a_wildcard_matches_at_most_its_most_frequent_words(vocabulary_reader):
    query = parsed("body:ma*", vocabulary_reader).article_query
    assert isinstance(query, Expansion)
    assert query.words == tuple(f"ma{j:03d}x".encode() for j in range(MAX_EXPANDED_TERMS))


def test_wildcards_past_the_limit_become_plain_words(vocabulary_reader):
    query = parsed("body:ma* body:ba* body:ca* body:da*", vocabulary_reader).article_query
    cost = query_cost(query)
    assert cost.expansions == MAX_EXPANSIONS
    assert Q.Term("body", "da") in list(query.leaves())


def test_an_unclosed_quote_does_not_unbound_wildcards(vocabulary_reader):
    text = '" ' + " ".join(c + "*" for c in string.ascii_lowercase + string.digits)
    cost = query_cost(parsed(text, vocabulary_reader).article_query)
    assert cost.expansions == 0  # one letter before each *: punctuation


def test_long_text_ranks_its_rarest_words(vocabulary_reader):
    common = [f"ma{j:03d}x" for j in range(60)]
    rare = [f"ba{n:03d}x" for n in range(20)]
    query = parsed(" ".join(common + rare), vocabulary_reader).article_query
    words = {leaf.text for leaf in leaves(query)}
    assert words == set(rare) | set(common[60 - (MAX_QUERY_WORDS - 20) :])


@pytest.mark.parametrize(
    "text",
    ["(" * 500 + "oil" + ")" * 500, "(a AND " * 120, "-(" * 300, '"' * 1000, "date:[" * 150,
     "".join(f"(x{n} {'AND' if n % 2 else 'OR'} " for n in range(60)) + "w" + ")" * 60],
)  # fmt: skip
def test_deep_nesting_is_bounded(reader, text):
    cost = query_cost(parsed(text, reader).article_query)
    assert cost.depth <= MAX_DEPTH and cost.clauses <= MAX_CLAUSES


@pytest.mark.parametrize("text", ["NOT oil", "NOT oil NOT gas", "(NOT oil*"])
def test_a_negation_is_everything_but_its_matches(reader, text):
    # Whoosh walks every document for a bare NOT; all-but-these is one array step.
    negations = [node for node in parsed(text, reader).article_query.leaves()]
    assert Q.Every() in negations
    assert not any(isinstance(node, Q.Not) for node in _nodes(parsed(text, reader).article_query))


def _nodes(query):
    yield query
    for child in query.children():
        yield from _nodes(child)


def test_text_longer_than_the_query_language_reads_is_plain_words(reader):
    parser = make_parser(article_schema(), 2.0, RankingSettings())
    read = []
    parse_text = parser.parse
    parser.parse = lambda text, **kwargs: read.append(len(text)) or parse_text(text, **kwargs)
    text = "prices rise " * (MAX_PARSED_CHARS // 10) + "-oil source:reuters"
    query = parse(text, parser, reader).article_query
    assert isinstance(query, Q.And) and Q.Term("source", "reuters") in list(query.leaves())
    assert {leaf.text for leaf in leaves(query) if leaf.fieldname == "body"} == {
        "price", "rise", "oil"}  # fmt: skip
    assert max(read) <= MAX_PARSED_CHARS  # the filter alone, never the whole text


def test_boosts_are_clamped(reader):
    query = parsed("oil^" + "9" * 400, reader).article_query
    assert {leaf.boost for leaf in leaves(query)} == {MAX_BOOST}


@pytest.mark.parametrize(
    "capitals, words",
    [("OPEC NOT TO CUT OUTPUT, MINISTER SAYS", "Opec not to cut output, minister says"),
     ("ANALYSIS AND DESIGN OF RADAR FILTERS", "analysis and design of radar filters"),
     ("OIL OR GAS PRICES RISE IN JANUARY", "oil or gas prices rise in January"),
     ("U.S. AND JAPAN ANDNOT TRADE TALKS END", "U.S. and Japan andnot trade talks end")],
)  # fmt: skip
def test_text_all_in_capitals_has_its_operators_as_words(reader, capitals, words):
    # A headline or request copied from an archive that prints capitals reads as its words.
    query = parsed(capitals, reader).article_query
    assert query == parsed(words, reader).article_query
    assert not any(isinstance(node, (Q.And, Q.AndNot, Q.Not)) for node in _nodes(query))
    assert parsed(capitals, reader).text == capitals


@pytest.mark.parametrize("text", ["oil NOT gas", "Oil NOT GAS", "oil AND gas", "OIL NOT gas"])
def test_operators_are_read_in_text_with_a_lower_case_letter(reader, text):
    assert parsed(text, reader).article_query != parsed(text.lower(), reader).article_query


@pytest.mark.parametrize(
    "pasted, words",
    [("Israeli Tanks Surge Into Gaza Refugee Camp -Witnesses",
      "Israeli Tanks Surge Into Gaza Refugee Camp Witnesses"),
     ("thrust vector control by fluid injection -dash papers",
      "thrust vector control by fluid injection dash papers"),
     ("Korean and Japanese Phone Makers Win +Survey",
      "Korean and Japanese Phone Makers Win Survey")],
)  # fmt: skip
def test_in_text_longer_than_a_typed_query_a_sign_is_punctuation(reader, pasted, words):
    # A pasted headline's attribution or a request's dash is part of the text, not an exclusion.
    assert parsed(pasted, reader).article_query == parsed(words, reader).article_query


@pytest.mark.parametrize(
    "text",
    ["oil -gas", "+oil prices rise -gas", "oil prices rise again -opec source:reuters date:1987",
     "oil prices rise again in 1987 NOT opec"],
)  # fmt: skip
def test_a_typed_query_still_excludes(reader, text):
    query = parsed(text, reader).article_query
    assert any(isinstance(node, (Q.AndNot, Q.Not)) for node in _nodes(query))


@pytest.mark.parametrize("quoted", ['"fearsome" Lions', "'fearsome' Lions", '"fearsome " Lions'])
def test_a_quoted_word_is_the_word_with_its_headline_weight(reader, quoted):
    assert parsed(quoted, reader).article_query == parsed("fearsome Lions", reader).article_query


@pytest.mark.parametrize(
    "text, wanted, excluded",
    [("oil NOT gas", {"oil"}, {"gas"}),
     ("oil prices NOT gas NOT coal", {"oil", "price"}, {"gas", "coal"}),
     ("oil OR NOT gas", {"oil"}, {"gas"}),
     ("oil (NOT gas)", {"oil"}, {"gas"}),
     ("(oil AND opec) NOT iran", {"oil", "opec"}, {"iran"}),
     ("oil NOT gas source:ap", {"oil", "ap"}, {"gas"})],
)  # fmt: skip
def test_not_excludes_from_the_words_beside_it(reader, text, wanted, excluded):
    # Whoosh's any-word grouping read `oil NOT gas` as "oil, or any article without gas".
    result = parsed(text, reader)
    query = result.article_query
    assert isinstance(query, Q.AndNot)
    assert {leaf.text for leaf in leaves(query.a)} == wanted
    assert {leaf.text for leaf in leaves(query.b)} == excluded
    assert (
        query
        == parsed(
            text.replace("(NOT gas)", "NOT gas").replace("OR NOT", "NOT"), reader
        ).article_query
    )
    assert not result.terms & excluded  # nothing excluded is marked


def test_an_excluded_word_is_not_marked(reader):
    assert parsed("prices NOT oil", reader).terms == {"price"}
    assert parsed("prices -oil", reader).terms == {"price"}


@pytest.mark.parametrize(
    "capitals, words",
    [("OPEC NOT TO CUT OUTPUT, MINISTER SAYS topic:crude",
      "OPEC not TO CUT OUTPUT, MINISTER SAYS topic:crude"),
     ("OPEC NOT TO CUT OUTPUT, MINISTER SAYS source:ap",
      "OPEC not TO CUT OUTPUT, MINISTER SAYS source:ap"),
     ("OPEC OUTPUT TALKS END (NOT SAUDI) TODAY", "OPEC OUTPUT TALKS END (not SAUDI) TODAY"),
     ("OIL REQUIRE GAS AND COAL PRICES", "OIL require GAS and COAL PRICES"),
     ("GROßE NOT STRAßE IN BERLIN GESPERRT", "GROßE not STRAßE IN BERLIN GESPERRT"),
     ("OIL NOT GAS 10µG PER LITRE TODAY", "OIL not GAS 10µG PER LITRE TODAY")],
)  # fmt: skip
def test_filters_and_caseless_letters_do_not_make_capitals_operators(reader, capitals, words):
    assert parsed(capitals, reader).article_query == parsed(words, reader).article_query


def test_a_signed_filter_in_long_text_keeps_its_sign(reader):
    query = parsed("israeli tanks surge into gaza refugee camp -source:ap", reader).article_query
    assert isinstance(query, Q.AndNot) and query.b == Q.Term("source", "ap")


def test_a_date_range_is_one_filter_when_signs_are_counted(reader):
    query = parsed("oil prices coal -gas date:[1987-03-01 TO 1987-04-15]", reader).article_query
    assert any(isinstance(node, Q.AndNot) for node in _nodes(query))


@pytest.mark.parametrize("typed", ["USA NOT NATO", "NOT IBM", "OIL AND GAS", "OPEC NOT OIL PRICES"])
def test_a_short_query_typed_in_capitals_keeps_its_operators(reader, typed):
    # Up to MAX_SIGNED_WORDS words a query is typed, syntax and all, as signs are read there.
    query = parsed(typed, reader).article_query
    assert any(isinstance(node, (Q.And, Q.AndNot)) for node in _nodes(query))
