"""Highlighted text: matched words in <mark>, everything else HTML-escaped.

Paragraph snippets use the character offsets stored in the paragraph index
(no re-analysis); headlines and leads, which are short, are analysed again.
"""

from __future__ import annotations

from html import escape

from whoosh.highlight import Formatter, Fragment, Highlighter, PinpointFragmenter

from searchsvc.analysis import news_analyzer

WHOLE_PARAGRAPH_CHARS = 420  # shorter paragraphs are shown whole
WINDOW_CHARS = 320
LEAD_CHARS = 300

_analyzer = news_analyzer()


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


def mark_terms(text: str, terms: frozenset[str], limit: int | None = None) -> str:
    """Escape `text`, cut to about `limit` characters, and mark words whose stem is in `terms`."""
    cut = len(text)
    if limit is not None and len(text) > limit:
        cut = text.rfind(" ", 0, limit)
        cut = limit if cut <= 0 else cut
    pieces, index = [], 0
    if terms:
        for token in _analyzer(text[:cut], chars=True, mode="query"):
            if token.text in terms:
                pieces.append(escape(text[index : token.startchar], quote=False))
                word = escape(text[token.startchar : token.endchar], quote=False)
                pieces.append(f"<mark>{word}</mark>")
                index = token.endchar
    pieces.append(escape(text[index:cut], quote=False))
    return "".join(pieces) + ("…" if cut < len(text) else "")
