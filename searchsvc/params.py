"""Search parameters as text (URL query or command line) -> a checked SearchRequest."""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from datetime import datetime

from searchsvc.model.articles import parse_date
from searchsvc.model.results import SORTS, SearchRequest

PARAMETERS = ("q", "page", "size", "since", "until", "source", "sort", "collapse")

MAX_SOURCE_LENGTH = 200

_DIGITS = re.compile(r"[0-9]+")


class ParameterError(ValueError):
    """A bad parameter; `code` is stable for programs, the message is for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def search_request(args: Mapping[str, str | None], config) -> SearchRequest:
    """Check every parameter against the published limits; raise ParameterError."""
    q = args.get("q") or ""
    if len(q) > config.max_query_length:
        raise ParameterError(
            "query_too_long",
            f"q is {len(q)} characters; the limit is {config.max_query_length}",
        )
    page = _integer(args, "page", 1)
    size = _integer(args, "size", 10)
    if size > config.max_page_size:
        raise ParameterError(
            "bad_parameter", f"size must be at most {config.max_page_size}, got {size}"
        )
    if page * size > config.max_result_window:
        raise ParameterError(
            "page_too_deep",
            f"page {page} with size {size} reaches past hit {config.max_result_window}, "
            "the deepest that can be paged to; narrow the search instead",
        )
    since, until = _date(args, "since"), _date(args, "until", end=True)
    if since and until and since > until:
        raise ParameterError("bad_parameter", "since must not be later than until")
    sort = (args.get("sort") or "relevance").strip().lower()
    if sort not in SORTS:
        raise ParameterError("bad_parameter", f"sort must be one of {', '.join(SORTS)}")
    source = (args.get("source") or "").strip() or None
    if source and len(source) > MAX_SOURCE_LENGTH:
        raise ParameterError(
            "bad_parameter", f"source is {len(source)} characters; the limit is {MAX_SOURCE_LENGTH}"
        )
    collapse = _flag(args, "collapse", True)
    return SearchRequest(
        q=q,
        collapse=collapse,
        page=page,
        size=size,
        since=since,
        until=until,
        source=source,
        sort=sort,
        snippets=config.snippets_per_hit,
    )


def _flag(args: Mapping[str, str | None], name: str, default: bool) -> bool:
    raw = (args.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("true", "1", "yes", "on"):
        return True
    if raw in ("false", "0", "no", "off"):
        return False
    raise ParameterError("bad_parameter", f"{name} must be true or false, got {raw!r}")


def _integer(args: Mapping[str, str | None], name: str, default: int) -> int:
    raw = args.get(name)
    if raw is None or str(raw).strip() == "":
        return default
    text = str(raw).strip()
    if not _DIGITS.fullmatch(text) or len(text) > 9 or int(text) < 1:
        raise ParameterError("bad_parameter", f"{name} must be a whole number from 1, got {raw!r}")
    return int(text)


def _date(args: Mapping[str, str | None], name: str, end: bool = False) -> datetime | None:
    """The first day the text covers; with `end`, the last (until=2017 means all of 2017)."""
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        moment, text = parse_date(raw)
    except (ValueError, OverflowError):
        raise ParameterError(
            "bad_parameter", f"{name} must be a date like 2017, 2017-03 or 2017-03-22, got {raw!r}"
        ) from None
    if end and len(text) == 4:
        return moment.replace(month=12, day=31)
    if end and len(text) == 7:
        return moment.replace(day=calendar.monthrange(moment.year, moment.month)[1])
    return moment
