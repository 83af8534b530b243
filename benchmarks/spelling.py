"""`python -m benchmarks.spelling`: how often "did you mean" is offered, and how often it is right.

False corrections: every query of every judged set under ../shared/eval, typed
exactly, against that set's own index (built and cached as `searchsvc eval
--suite` builds them); any suggestion for text typed right is a false one.
True corrections: one generated misspelling (see `misspell`) in each query of
the headline sets, and each of a list of common English misspellings (those
whose right spelling the set's archive holds); right when it gives the word back.
Figures are given for the suite's two halves of the queries (tune, test).
Every query is run (about a minute for the seven sets, most of it opening the
indexes); --limit N takes every k-th query in id order instead.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from searchsvc.config import load_config
from searchsvc.discovery.spelling import suggest_query
from searchsvc.engine import open_engine
from searchsvc.evaluation.suite import cached_index, default_cache, find_sets, half_of
from searchsvc.search import SearchRequest, search
from searchsvc.text.querylang import normalise
from searchsvc.text.vocabulary import MIN_SUGGESTED_COUNT

DEFAULT_SUITE = Path(__file__).resolve().parent.parent.parent / "shared" / "eval"
HEADLINE_SETS = ("agnews-titles", "bbc-titles")
SEED = 16
EXAMPLES = 8  # false corrections shown per set

# US QWERTY letter rows; a key's neighbours are beside it and diagonally above and below.
ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
KINDS = ("deletion", "insertion", "transposition", "substitution")
# Misspellings people make (not slips of the finger), written from the well-known lists
# (Wikipedia's "Lists of common misspellings", Oxford's "common misspellings"): many are
# in wordfreq's list, so they show what a frequency threshold costs.
COMMON = """accomodate accommodate acheive achieve adress address arguement argument
begining beginning beleive believe buisness business calender calendar cemetary cemetery
collegue colleague comittee committee commited committed completly completely
concious conscious critisism criticism definately definitely dissapoint disappoint
embarass embarrass enviroment environment excercise exercise existance existence
finacial financial foriegn foreign fourty forty freind friend garantee guarantee
goverment government happend happened harrass harass immediatly immediately
independant independent interupt interrupt knowlege knowledge lenght length
libary library liason liaison maintainance maintenance managment management
millenium millennium neccessary necessary noticable noticeable occassion occasion
occured occurred occurence occurrence oppurtunity opportunity parliment parliament
persue pursue posession possession posible possible prefered preferred
presidental presidential privelege privilege proffesional professional
publically publicly questionaire questionnaire recieve receive recieved received
reccomend recommend recomend recommend refered referred relevent relevant
resturant restaurant rythm rhythm secratary secretary sentance sentence
seperate separate similiar similar sieze seize succesful successful sucess success
suprise surprise supress suppress temperture temperature tendancy tendency
threshhold threshold tommorow tomorrow tounge tongue truely truly
unfortunatly unfortunately untill until wether whether wierd weird writting writing"""
COMMON_PAIRS = tuple(zip(COMMON.split()[::2], COMMON.split()[1::2], strict=True))
_OPERATORS = {"AND", "OR", "NOT", "TO", "ANDNOT", "ANDMAYBE"}
_TARGET = re.compile(r"^(\W*)([A-Za-z]{4,})(\W*)$")


def neighbours(letter: str) -> str:
    """The keys next to `letter` on a US QWERTY keyboard (lower case; '' for other characters)."""
    for row, keys in enumerate(ROWS):
        column = keys.find(letter.lower())
        if column < 0:
            continue
        near = [(row, column - 1), (row, column + 1)]
        near += [(row - 1, column), (row - 1, column + 1), (row + 1, column - 1), (row + 1, column)]
        return "".join(ROWS[r][c] for r, c in near if 0 <= r < 3 and 0 <= c < len(ROWS[r]))
    return ""


def _like(letter: str, model: str) -> str:
    return letter.upper() if model.isupper() else letter


def edit(word: str, kind: str, rng: random.Random) -> str | None:
    """`word` with one typing slip of `kind`, its first letter kept; None when it cannot apply.

    First letters are rarely mistyped (Pollock & Zamora 1984), so position 0 is left alone.
    """
    n = len(word)
    if kind == "deletion":
        i = rng.randrange(1, n)
        return word[:i] + word[i + 1 :]
    if kind == "insertion":  # a doubled key or a neighbour of the key just typed
        i = rng.randrange(1, n + 1)
        choices = word[i - 1].lower() + neighbours(word[i - 1])
        return word[:i] + _like(rng.choice(choices), word[i - 1]) + word[i:]
    if kind == "transposition":
        spots = [i for i in range(1, n - 1) if word[i].lower() != word[i + 1].lower()]
        if not spots:
            return None
        i = rng.choice(spots)
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    spots = [i for i in range(1, n) if neighbours(word[i])]
    if not spots:
        return None
    i = rng.choice(spots)
    return word[:i] + _like(rng.choice(neighbours(word[i])), word[i]) + word[i + 1 :]


@dataclass
class Typo:
    typed: str  # the query with the slip
    position: int  # which space-separated token carries it
    word: str  # the word as it was
    slip: str  # the word as mistyped
    kind: str


def misspell(text: str, key: str, seed: int = SEED) -> Typo | None:
    """One slip in one plain word of four ASCII letters or more, seeded by `key`.

    Words in double quotes, operators, field:value terms, wildcards, exclusions and
    words with digits or inner punctuation are never chosen: they are not checked.
    """
    rng = random.Random(f"{seed}:{key}")
    tokens = text.split(" ")
    candidates, quotes = [], 0
    for position, token in enumerate(tokens):
        plain = quotes % 2 == 0 and ":" not in token and "*" not in token
        quotes += token.count('"')
        core = _TARGET.match(token)
        if plain and core and '"' not in token and token[0] not in "-+" and token not in _OPERATORS:
            candidates.append((position, core))
    if not candidates:
        return None
    position, core = rng.choice(candidates)
    for kind in rng.sample(KINDS, len(KINDS)):
        slip = edit(core.group(2), kind, rng)
        if slip and slip.lower() != core.group(2).lower():
            typed = tokens[:position] + [core.group(1) + slip + core.group(3)]
            typed += tokens[position + 1 :]
            return Typo(" ".join(typed), position, core.group(2), slip, kind)
    return None


@dataclass
class Tally:
    """Counts for one set and one half of its queries."""

    queries: int = 0
    offered: int = 0
    restored: int = 0  # the mistyped word given back (case aside)
    exact: int = 0  # the suggestion is the query exactly as it was before the slip
    collateral: int = 0  # another word, typed right, changed
    slip_is_word: int = 0  # the slip is itself a word of the archive: no speller can tell
    seconds: float = 0.0

    def rate(self, name: str) -> float:
        return getattr(self, name) / self.queries if self.queries else 0.0


@dataclass
class SetFigures:
    name: str
    false: dict[str, Tally] = field(default_factory=dict)
    true: dict[str, Tally] = field(default_factory=dict)
    common: dict[str, Tally] = field(default_factory=dict)
    examples: list[tuple[str, str]] = field(default_factory=list)
    checked: int = 0


def _changed(before: str, after: str | None) -> list[int]:
    """Positions of the space-separated tokens `after` changes, case aside."""
    if after is None:
        return []
    old, new = before.split(" "), after.split(" ")
    if len(old) != len(new):
        return list(range(max(len(old), len(new))))
    return [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a.lower() != b.lower()]


def _suggest(tally: Tally, text: str, vocabulary) -> str | None:
    """suggest_query(), counted and timed in `tally`."""
    started = time.perf_counter()
    suggestion = suggest_query(text, vocabulary) if text else None
    tally.seconds += time.perf_counter() - started
    tally.queries += 1
    tally.offered += suggestion is not None
    return suggestion


def measure_set(judged, cache: Path, typos: bool, check: int, limit: int) -> SetFigures:
    """False corrections on every query of `judged` (or `limit` of them); true ones if `typos`."""
    index, _ = cached_index(judged, cache)
    view = open_engine(load_config({"index": index})).view()
    vocabulary = view.vocabulary()
    queries = sorted(judged.queries().items())
    if limit:  # a fixed sample: every k-th query in qid order
        queries = queries[:: max(1, len(queries) // limit)][:limit]
    figures = SetFigures(judged.name)
    for half in ("tune", "test"):
        figures.false[half] = Tally()
        if typos:
            figures.true[half], figures.common[half] = Tally(), Tally()
    for qid, raw in queries:
        text = normalise(raw)
        suggestion = _suggest(figures.false[half_of(qid)], text, vocabulary)
        if suggestion is not None and len(figures.examples) < EXAMPLES:
            figures.examples.append((text, suggestion))
        if figures.checked < check:  # the same suggestion as a real search gives
            result = search(view, SearchRequest(q=raw, snippets=0))
            assert result.suggestion == suggestion, (raw, result.suggestion, suggestion)
            figures.checked += 1
        typo = misspell(text, f"{judged.name}:{qid}") if typos else None
        if typo is not None:
            _score_typo(figures.true[half_of(qid)], text, typo, vocabulary)
    for wrong, right in COMMON_PAIRS if typos else ():
        if vocabulary.counts.get(right, 0) >= MIN_SUGGESTED_COUNT:  # else it cannot be offered
            tally = figures.common[half_of(wrong)]
            tally.restored += _suggest(tally, wrong, vocabulary) == right
    return figures


def _score_typo(tally: Tally, text: str, typo: Typo, vocabulary) -> None:
    suggestion = _suggest(tally, typo.typed, vocabulary)
    tally.slip_is_word += vocabulary.counts.get(typo.slip.lower(), 0) > 0
    if suggestion is None:
        return
    changed, still_wrong = _changed(typo.typed, suggestion), _changed(text, suggestion)
    tally.restored += typo.position in changed and typo.position not in still_wrong
    tally.exact += suggestion == text
    tally.collateral += any(p != typo.position for p in changed)


def _merge(tallies: dict[str, Tally]) -> Tally:
    total = Tally()
    for tally in tallies.values():
        for name in vars(total):
            setattr(total, name, getattr(total, name) + getattr(tally, name))
    return total


def _row(name: str, half: str, tally: Tally, columns: tuple[str, ...]) -> str:
    rates = "".join(f" {100 * tally.rate(c):9.1f}%" for c in columns)
    per_query = 1e6 * tally.seconds / tally.queries if tally.queries else 0.0
    return f"{name:22} {half:5} {tally.queries:7}{rates} {per_query:9.0f}"


FALSE_COLUMNS = ("offered",)
TRUE_COLUMNS = ("offered", "restored", "exact", "collateral", "slip_is_word")
COMMON_COLUMNS = ("offered", "restored")


def report(results: list[SetFigures]) -> str:
    """Both tables, one row per set and half, then the false corrections met first."""
    lines = ["False corrections: the query typed exactly, a suggestion offered anyway"]
    lines.append(f"{'set':22} {'half':5} {'queries':>7} {'offered':>10} {'us/query':>9}")
    for figures in results:
        for half, tally in [*figures.false.items(), ("all", _merge(figures.false))]:
            lines.append(_row(figures.name, half, tally, FALSE_COLUMNS))
    lines += ["", "True corrections: one generated slip in each headline query"]
    header = "".join(f" {c:>10}" for c in TRUE_COLUMNS)
    lines.append(f"{'set':22} {'half':5} {'queries':>7}{header} {'us/query':>9}")
    for figures in results:
        if figures.true:
            for half, tally in [*figures.true.items(), ("all", _merge(figures.true))]:
                lines.append(_row(figures.name, half, tally, TRUE_COLUMNS))
    lines += ["", "Common misspellings, alone, whose right spelling the archive holds"]
    header = "".join(f" {c:>10}" for c in COMMON_COLUMNS)
    lines.append(f"{'set':22} {'half':5} {'queries':>7}{header} {'us/query':>9}")
    for figures in results:
        if figures.common:
            for half, tally in [*figures.common.items(), ("all", _merge(figures.common))]:
                lines.append(_row(figures.name, half, tally, COMMON_COLUMNS))
    lines += ["", "First false corrections of each set: the words changed, in their query"]
    for figures in results:
        for typed, suggested in figures.examples:
            pairs = zip(typed.split(" "), suggested.split(" "), strict=False)
            words = ", ".join(f"{a} -> {b}" for a, b in pairs if a != b)
            lines.append(f"  {figures.name}: {words}  ({typed[:70]})")
    lines.append("")
    lines.append(
        "restored: the slipped word given back (case aside); "
        "exact: the suggestion is the query as it was, casing included; collateral: a word "
        "typed right was changed; slip_is_word: the slip is a word of the archive itself."
    )
    return "\n".join(lines)


def to_json(results: list[SetFigures]) -> dict:
    return {
        figures.name: {
            kind: {half: vars(t) for half, t in tallies.items()}
            for kind, tallies in (
                ("false", figures.false),
                ("true", figures.true),
                ("common", figures.common),
            )
        }
        | {"examples": figures.examples, "checked_against_search": figures.checked}
        for figures in results
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.spelling", description=__doc__)
    parser.add_argument("--suite", type=Path, default=DEFAULT_SUITE, help="judged sets")
    parser.add_argument("--cache", type=Path, default=None, help="index cache (suite's default)")
    parser.add_argument("--sets", default="", help="comma-separated set names (default: all)")
    parser.add_argument("--limit", type=int, default=0, help="queries per set, 0 for all")
    parser.add_argument("--check", type=int, default=20, help="queries per set also searched")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    wanted = {name for name in args.sets.split(",") if name}
    results = []
    for judged in find_sets(args.suite):
        if wanted and judged.name not in wanted:
            continue
        started = time.perf_counter()
        figures = measure_set(
            judged,
            args.cache or default_cache(),
            judged.name in HEADLINE_SETS,
            args.check,
            args.limit,
        )
        results.append(figures)
        print(f"{judged.name}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(to_json(results), indent=1), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
