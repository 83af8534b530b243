"""The whole query language, generated, against every endpoint that takes a query.

Every request must answer (never a 500, a 400 only for a documented limit) and
cost no more than the bounds of docs/limits.md allow. Cost is asserted on what
the engine is asked to do (clauses, expansions, slop of the query it runs),
which does not vary with the machine's load; the measured time only steers
Hypothesis (target()) towards slow inputs. The slowest ones found, here and on
Reuters, are kept in WORST as plain regression cases.
"""

from __future__ import annotations

import string
import time

import pytest
from conftest import write_corpus
from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st
from reliability_support import MARKER, write_filler, write_markers

from searchsvc import create_app
from searchsvc.config import load_config
from searchsvc.engine.embedded import answers, completion
from searchsvc.engine.embedded import typos as suggest
from searchsvc.engine.embedded.querying import (
    MAX_CLAUSES,
    MAX_DEPTH,
    MAX_EXPANDED_TERMS,
    MAX_EXPANSIONS,
    MAX_PHRASE_WORDS,
    MAX_SLOP,
    query_cost,
)
from searchsvc.index.indexer import reindex
from searchsvc.web import complete

MAX_QUERY_LENGTH = load_config(environ={}).max_query_length  # the default
LIMIT_CODES = {"query_too_long", "bad_parameter", "page_too_deep", "bad_request"}
HANG_SECONDS = 20.0  # a hang detector only: bounds are asserted on cost, not on time
# What search() may add to the parsed query: typo clauses, one Or, one And of filters.
EXTRA_CLAUSES = suggest.MAX_TOLERANT_CLAUSES + 2
EXTRA_DEPTH = 3

# ---- the query language, as a grammar -------------------------------------------------

WORDS = ["oil", "prices", "said", "mln", "dlrs", "the", "a", "of", "police", "officer",
         "cocoa", "rates", "bank", "parliament", "company", "market", MARKER, "zanzibar",
         "AND", "OR", "NOT", "TO", "to", "ANDNOT", "ANDMAYBE"]  # fmt: skip
PUNCTUATION = list("+-*:~^\"'()[]{}\\!?/$&|.,;<>=@#%") + ["+/-", "**", "*:*", "&&", "||", "--"]
FIELDS = ["title", "headline", "body", "source", "topic", "topics", "date", "id", "record",
          "nosuch", "Source", "*", ""]  # fmt: skip
DATES = ["1987", "1987-03", "1987-03-22", "2017", "2018-05-01", "0000", "0001", "9999",
         "yesterday", "x", "9999999", "1987*", "2017-13", "1987-02-30"]  # fmt: skip

_letters = st.text(string.ascii_lowercase, min_size=1, max_size=8)
word = st.one_of(
    st.sampled_from(WORDS),
    _letters,
    st.integers(0, 10**6).map(str),
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=6),
)
number = st.one_of(
    st.integers(-5, 10**12).map(str), st.sampled_from(["", "1e5", "0.5", "9" * 60, "-", "~"])
)
wildcard = st.builds(
    lambda prefix, rest: prefix + "*" + rest,
    st.one_of(st.sampled_from(["", "c", "co", "ma", "pr", "st", "re", "zanzibar"]), _letters),
    st.sampled_from(["", "", "s", "*", "a*b", "*" * 5]),
)
phrase = st.builds(
    lambda words, closed, slop: '"' + " ".join(words) + ('"' if closed else "")
    + ("" if slop is None else "~" + slop),
    st.lists(st.one_of(word, wildcard), max_size=24),
    st.booleans(),
    st.none() | number,
)  # fmt: skip
field = st.builds(
    lambda name, value: f"{name}:{value}",
    st.sampled_from(FIELDS),
    st.one_of(word, wildcard, phrase, st.sampled_from(DATES), st.sampled_from(["", "*", "("])),
)
term_range = st.builds(
    lambda name, open_, low, high, close: f"{name}{open_}{low} to {high}{close}",
    st.sampled_from(["", "date:", "title:", "body:", "source:", "topic:"]),
    st.sampled_from("[{"),
    st.one_of(st.sampled_from(DATES), word, st.just("")),
    st.one_of(st.sampled_from(DATES), word, st.just("")),
    st.sampled_from(["]", "}", ""]),
)
operator = st.sampled_from(["AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "+", "-", "&&", "||"])
atom = st.one_of(word, wildcard, phrase, field, term_range, st.sampled_from(PUNCTUATION), operator)
boosted = st.one_of(atom, st.builds(lambda a, n: f"{a}^{n}", atom, number))
expression = st.recursive(
    boosted,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=6).map(" ".join),
        st.builds(lambda e, closed: "(" + e + (")" if closed else ""), inner, st.booleans()),
        st.builds(lambda a, op, b: f"{a} {op} {b}", inner, operator, inner),
        st.builds(lambda e, times: " ".join([e] * times), inner, st.integers(2, 200)),
    ),
    max_leaves=24,
)
query = expression.map(lambda text: text[:MAX_QUERY_LENGTH])

_page = st.one_of(st.integers(1, 5).map(str), st.sampled_from(["0", "x", "1001", ""]))
_size = st.one_of(st.integers(1, 100).map(str), st.sampled_from(["0", "101", ""]))
_day = st.one_of(st.sampled_from(DATES), st.dates().map(str))
parameters = st.fixed_dictionaries(
    {"q": query},
    optional={
        "page": _page,
        "size": _size,
        "sort": st.sampled_from(["relevance", "date", "DATE", "best"]),
        "since": _day,
        "until": _day,
        "source": st.one_of(st.sampled_from(["Reuters", "reuters", "Gazette"]), word),
    },
)
ENDPOINTS = ["/api/search", "/search", "/search.atom", "/search.csv", "/search.jsonl",
             "/api/complete", "/articles/wire-1", "/api/articles/wire-1"]  # fmt: skip

# The slowest requests found (on this corpus and on Reuters), kept as regression cases.
WORST = [
    '" ' + " ".join(c + "*" for c in string.ascii_lowercase + string.digits),
    '"said mln"~999999999',
    '"said mln"~10000',
    "co* re* st*",
    "co* re* st* ma* pr*",
    "(" * 498 + "oil" + ")" * 497,
    "".join(f"(x{n} {'AND' if n % 2 else 'OR'} " for n in range(60)) + "w" + ")" * 60,
    '"' + "said " * 190 + '"~20',
    " ".join(f"w{n}" for n in range(200))[:MAX_QUERY_LENGTH],
    "market OR " * 100,
    "NOT pr*",
    "co* ANDNOT co*",
    "1 AND 1 OR dlrs",
    "t ANDNOT ANDNOT",
    "c*a*b NOT co****** ANDMAYBE police " + "- zanzibar** police " * 40,
    "(ANDNOT^225 NOT 992^- + c* && 18480 NOT OR " + "\xc7\xe7\xa9 " * 100,
    '((("officer kxzk 2146 W 4 \x1b\xffArl\xfa~176) - ""~2426273223 OR || ANDNOT prices (NOT pr*',
    "(f) (iutn) " + "&& " * 300,
    "zanzibar* " * 100,
    "Superstars and attendance (was Teemu Selanne, was +/- leaders)",
    "Strange phenomens in NHL (was: Team leaders in +/-)",
    "** Oscilloscope for sale $99 + probes $25 ea. **",
    "Borland C++ 3.1 w/App Frmwrks ** FORSALE **",
]


# ---- the service under test ------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_client(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    corpus = write_corpus(root / "corpus")
    write_filler(corpus / "filler", files=1, per_file=120)
    write_markers(corpus / "markers.jsonl", "m", 5)
    reindex([corpus], root / "index")
    return create_app({"index": root / "index"}).test_client()


@pytest.fixture(scope="module")
def costs():
    """Every query the engine runs (search and completion), as its QueryCost."""
    seen: dict[str, list] = {"search": [], "complete": []}
    patch = pytest.MonkeyPatch()
    rank, headline_query = answers.rank, completion.headline_query

    def counted_rank(searcher, query, *args, **kwargs):
        seen["search"].append(query_cost(query))
        return rank(searcher, query, *args, **kwargs)

    def counted_headline_query(*args, **kwargs):
        built = headline_query(*args, **kwargs)
        seen["complete"].append(query_cost(built))
        return built

    patch.setattr(answers, "rank", counted_rank)
    patch.setattr(completion, "headline_query", counted_headline_query)
    yield seen
    patch.undo()


def _request(client, path: str, params: dict) -> tuple[int, float]:
    started = time.perf_counter()
    response = client.get(path, query_string=params)
    elapsed = time.perf_counter() - started
    status = response.status_code
    assert status in (200, 400), (path, params, status)
    if status == 400:
        code = response.get_json()["error"]["code"] if path.startswith("/api/") else None
        assert code in LIMIT_CODES or not path.startswith("/api/"), (path, params, code)
        assert _past_a_documented_limit(path, params), (path, params, response.data[:300])
    assert elapsed < HANG_SECONDS, (path, params, elapsed)
    return status, elapsed


def _past_a_documented_limit(path: str, params: dict) -> bool:
    """A 400 is right only for a parameter outside its documented range, never for q's text."""
    if path == "/api/complete":
        return len(params.get("q", "")) > complete.MAX_COMPLETE_LENGTH
    if len(params.get("q", "")) > MAX_QUERY_LENGTH:
        return True
    checked = {k: v for k, v in params.items() if k != "q"}
    return bool(checked) and not _parameters_valid(path, checked)


def _parameters_valid(path: str, params: dict) -> bool:
    from searchsvc.params import ParameterError, search_request

    if path.startswith(("/articles/", "/api/articles/")):
        return True
    try:
        search_request(params, load_config())
    except ParameterError:
        return False
    return True


def assert_within_bounds(costs_seen: dict) -> None:
    for cost in costs_seen["search"]:
        assert cost.clauses <= MAX_CLAUSES + EXTRA_CLAUSES, cost
        assert cost.expansions <= MAX_EXPANSIONS, cost
        assert cost.expanded_terms <= MAX_EXPANDED_TERMS, cost
        assert cost.slop <= MAX_SLOP, cost
        assert cost.phrase_words <= MAX_PHRASE_WORDS, cost
        assert cost.depth <= MAX_DEPTH + EXTRA_DEPTH, cost
    for cost in costs_seen["complete"]:
        assert cost.clauses <= completion.MAX_HEADLINE_CLAUSES, cost
        assert cost.expansions == 0 and cost.depth <= 3, cost
    costs_seen["search"].clear()
    costs_seen["complete"].clear()


# ---- the tests ---------------------------------------------------------------------------


@given(params=parameters, path=st.sampled_from(ENDPOINTS))
@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_any_query_is_answered_within_its_bounds(fuzz_client, costs, params, path):
    status, elapsed = _request(fuzz_client, path, params)
    target(elapsed, label="seconds per request")
    assert_within_bounds(costs)


@given(text=st.text(max_size=MAX_QUERY_LENGTH))
@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_any_printable_text_is_searched(fuzz_client, costs, text):
    response = fuzz_client.get("/api/search", query_string={"q": text})
    assert response.status_code == 200, (text, response.get_json())
    assert_within_bounds(costs)


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("q", WORST)
def test_the_slowest_queries_found_stay_within_bounds(fuzz_client, costs, path, q):
    status, _ = _request(fuzz_client, path, {"q": q, "size": "100"})
    too_long = path == "/api/complete" and len(q) > complete.MAX_COMPLETE_LENGTH
    assert status == (400 if too_long else 200)
    assert_within_bounds(costs)


CONSTRUCTS = [('"', "phrase"), ("*", "wildcard"), (" to ", "range"), (":", "field"),
              ("(", "group"), ("^", "boost"), ("~", "slop"), ("AND", "operator")]  # fmt: skip


def test_the_grammar_reaches_every_construct():
    """The generator is not vacuous: it yields every kind of construct it is meant to."""
    found = set()

    @given(text=query)
    @settings(max_examples=300, database=None, deadline=None)
    def collect(text):
        for mark, kind in CONSTRUCTS:
            if mark in text:
                found.add(kind)

    collect()
    assert found == {kind for _mark, kind in CONSTRUCTS}
