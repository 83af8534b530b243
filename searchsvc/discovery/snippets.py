"""Highlighted text: matched words in <mark>, everything else HTML-escaped.

Snippets are the best paragraphs of a hit, scored as the paragraph index
scores them and highlighted from their analysed tokens; the analyzer caches
every word's term, so analysing a hit's few paragraphs costs less than a
second index search. Headlines, leads and a whole article's paragraphs (its
page opened from a result) are marked the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from whoosh.analysis import Token
from whoosh.highlight import (
    Formatter,
    Fragment,
    Highlighter,
    PinpointFragmenter,
    top_fragments,
)

from searchsvc.text.analysis import term_spans

WHOLE_PARAGRAPH_CHARS = 420  # shorter paragraphs are shown whole
WINDOW_CHARS = 320
LEAD_CHARS = 300
SNIPPET_SCAN_CHARS = 20_000  # of one hit's text scored for snippets: its start (Reuters' longest
# article is 10,073 characters)
REQUEST_SCAN_CHARS = 400_000  # of all the hits of one request (about 0.3 s of analysis)
MAX_MARKED_CHARS = 2_000  # of a headline looked at for words to mark; the rest only escaped
ARTICLE_MARK_CHARS = 200_000  # of an article's paragraphs marked on its page (80 ms measured;
# an article can be 10 MB): the rest only escaped


class MarkFormatter(Formatter):
    """<mark> around matches, escaping for the rest, an ellipsis where text was cut."""

    between = " … "

    def _text(self, text: str) -> str:
        return escape(text, quote=False)

    def format_token(self, text: str, token, replace: bool = False) -> str:
        return "<mark>" + escape(text[token.startchar : token.endchar], quote=False) + "</mark>"

    def format_fragment(self, fragment: Fragment, replace: bool = False) -> str:
        body = super().format_fragment(fragment, replace).strip()
        head = "…" if fragment.startchar > 0 else ""
        tail = "…" if fragment.endchar < len(fragment.text.rstrip()) else ""
        return head + body + tail


class ParagraphFragmenter(PinpointFragmenter):
    """A short paragraph whole; a long one as the window around its best matches."""

    def fragment_matches(self, text: str, matched_tokens):
        if len(text) <= WHOLE_PARAGRAPH_CHARS:
            yield Fragment(text, list(matched_tokens), 0, len(text))
        else:
            yield from super().fragment_matches(text, matched_tokens)


def paragraph_highlighter() -> Highlighter:
    return Highlighter(
        fragmenter=ParagraphFragmenter(
            maxchars=WINDOW_CHARS, surround=100, autotrim=True, charlimit=None
        ),
        formatter=MarkFormatter(),
    )


_paragraph_highlighter = paragraph_highlighter()


def mark_terms(text: str, terms: frozenset[str], limit: int | None = None) -> str:
    """Escape `text`, cut to about `limit` characters, and mark words whose stem is in `terms`
    (within the first MAX_MARKED_CHARS: a headline can be as long as an article)."""
    cut = _word_boundary(text, limit) if limit is not None else len(text)
    marked = _word_boundary(text, min(cut, MAX_MARKED_CHARS))
    return _mark(text, terms, marked, cut) + ("…" if cut < len(text) else "")


def _mark(text: str, terms: frozenset[str], marked: int, cut: int) -> str:
    """`text[:cut]` escaped, with the words of `text[:marked]` whose stem is in `terms` marked."""
    pieces, index = [], 0
    if terms:
        for term, start, end in term_spans(text[:marked]):
            if term in terms:
                pieces.append(escape(text[index:start], quote=False))
                pieces.append(f"<mark>{escape(text[start:end], quote=False)}</mark>")
                index = end
    pieces.append(escape(text[index:cut], quote=False))
    return "".join(pieces)


@dataclass(frozen=True)
class MarkedArticle:
    """An article's headline and paragraphs as HTML, with the words of a query marked."""

    title_html: str
    paragraphs_html: list[str]
    matched: list[int]  # numbers of the paragraphs with a mark, in reading order
    marks: int  # marks in the headline and paragraphs together


def mark_article(title: str, paragraphs: list[str], terms: frozenset[str]) -> MarkedArticle:
    """The headline marked as in a hit, every paragraph whole as in a snippet; the words of
    the first ARTICLE_MARK_CHARS characters of paragraphs only."""
    title_html = mark_terms(title, terms)
    budget, paragraphs_html = ARTICLE_MARK_CHARS, []
    for paragraph in paragraphs:
        marked = _word_boundary(paragraph, budget) if budget > 0 else 0
        budget -= len(paragraph)
        paragraphs_html.append(_mark(paragraph, terms, marked, len(paragraph)))
    # Escaped text has no "<": every "<mark>" is one of ours.
    matched = [n for n, html in enumerate(paragraphs_html) if "<mark>" in html]
    marks = title_html.count("<mark>") + sum(paragraphs_html[n].count("<mark>") for n in matched)
    return MarkedArticle(title_html, paragraphs_html, matched, marks)


def _word_boundary(text: str, limit: int) -> int:
    """Where to cut `text` to about `limit` characters without cutting a word."""
    if len(text) <= limit:
        return len(text)
    cut = text.rfind(" ", 0, limit)
    return limit if cut <= 0 else cut


class ScanBudget:
    """Characters of one request's hits still to be looked at for snippets."""

    def __init__(self, left: int = REQUEST_SCAN_CHARS):
        self.left = left


def paragraph_snippets(
    paragraphs: list[str],
    terms: frozenset[str],
    scorer,
    per_article: int,
    budget: ScanBudget,
) -> list[tuple[int, str]]:
    """The `per_article` best paragraphs for `terms`, highlighted, in reading order, each
    with its number in `paragraphs` (the article page's anchor #p-N).

    Scores each paragraph with BM25F exactly as the paragraph index would
    (its document frequencies, average and quantised lengths), from the
    article's stored text: one analysis of a few paragraphs replaces a second
    index search per query. Only the first SNIPPET_SCAN_CHARS characters are
    looked at, fewer when the request's `budget` is running out. `scorer` is the
    engine's paragraph_stats(): score(counts, length) for one paragraph.
    """
    scored = []
    allowed = min(SNIPPET_SCAN_CHARS, budget.left)
    for number, paragraph in enumerate(paragraphs):
        if allowed <= 0:
            break
        used = min(len(paragraph), allowed)
        spans = term_spans(paragraph[:used])
        allowed -= used
        budget.left -= used
        matched, counts = [], {}
        for pos, (term, start, end) in enumerate(spans):
            if term in terms:
                counts[term] = counts.get(term, 0) + 1
                matched.append(Token(text=term, pos=pos, startchar=start, endchar=end))
        length = len(spans)
        if counts:
            scored.append((-scorer.score(counts, length), number, matched))
    best = sorted(scored)[:per_article]
    return [
        (number, _highlight(paragraphs[number], matched))
        for _s, number, matched in sorted(best, key=lambda s: s[1])
    ]


def _highlight(text: str, matched: list) -> str:
    fragments = _paragraph_highlighter.fragmenter.fragment_matches(text, matched)
    fragments = top_fragments(
        fragments, 1, _paragraph_highlighter.scorer, _paragraph_highlighter.order, minscore=0
    )
    return _paragraph_highlighter.formatter.format(fragments)
