"""Corpus readers: every format rule of plain-text and JSON Lines articles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from searchsvc.ingest.corpus import CorpusFile, Problem, discover, iter_file, read_file
from searchsvc.model.articles import Article


def read(path: Path, key: str | None = None) -> tuple[list[Article], list[Problem]]:
    items = list(read_file(CorpusFile(path, key or path.name)))
    return (
        [i for i in items if isinstance(i, Article)],
        [i for i in items if isinstance(i, Problem)],
    )


def text_file(tmp_path: Path, content: str | bytes, name: str = "a.txt") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    ("first_line", "date", "first_paragraph"),
    [
        ("date 2017-03-22 London (CNN) Text.", "2017-03-22", "London (CNN) Text."),
        ("  date 2017-03-22 Text.", "2017-03-22", "Text."),
        ("date 2017-03 Text.", "2017-03", "Text."),
        ("date 2017 Text.", "2017", "Text."),
        ("Date 1999-12-31 Text.", "1999-12-31", "Text."),
        ("No date here.", None, "No date here."),
        ("dated 2017 is not a date line.", None, "dated 2017 is not a date line."),
    ],
)
def test_date_line(tmp_path, first_line, date, first_paragraph):
    articles, problems = read(text_file(tmp_path, first_line + "\n\nSecond paragraph.\n"))
    assert problems == []
    assert articles[0].date == date
    assert articles[0].paragraphs == [first_paragraph, "Second paragraph."]


def test_impossible_date_is_reported_and_dropped(tmp_path):
    articles, problems = read(text_file(tmp_path, "date 2017-13-45 Text.\n"))
    assert articles[0].date is None
    assert articles[0].paragraphs == ["Text."]
    assert [p.skipped for p in problems] == [False]
    assert "not a date" in problems[0].reason


def test_seed_article(tmp_path):
    seed = Path(__file__).resolve().parents[1] / "corpus" / "000_fff6ed95d595d175.txt"
    articles, problems = read(seed)
    article = articles[0]
    assert problems == []
    assert article.id == "000_fff6ed95d595d175"
    assert article.date == "2017-03-22"
    assert article.title_derived
    assert article.title.startswith("London (CNN) A police officer was stabbed")
    assert article.title.endswith("…") and len(article.title) <= 91
    assert len(article.paragraphs) == 21


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("Ad sales boost profit\n\nQuarterly profits jumped.\n", "Ad sales boost profit"),
        ("Headline with a colon:\n\nBody.\n", ""),  # closing punctuation: not a headline
        ("A sentence that ends.\n\nBody.\n", ""),
        ("Only one paragraph, no blank line after\n", ""),
        ("Two lines\nof a paragraph\n\nBody.\n", ""),  # no blank line right after line 1
        ("x" * 200 + "\n\nBody.\n", ""),  # too long for a headline
        ("date 2004-05-01 Short headline\n\nBody text.\n", "Short headline"),
    ],
)  # fmt: skip
def test_headline_rule(tmp_path, text, title):
    article = read(text_file(tmp_path, text))[0][0]
    if title:
        assert (article.title, article.title_derived) == (title, False)
        assert title not in article.paragraphs
    else:
        assert article.title_derived


def test_paragraphs_split_on_blank_lines_and_whitespace_is_folded(tmp_path):
    text = "First line\ncontinues here.\n \t\nSecond\r\n\r\n\r\nThird   one.\n\n\n"
    article = read(text_file(tmp_path, text))[0][0]
    assert article.paragraphs == ["First line continues here.", "Second", "Third one."]


def test_id_is_path_inside_corpus(tmp_path):
    write = text_file(tmp_path, "Body.\n", "business/001.txt")
    found = [f for f in discover([tmp_path]) if isinstance(f, CorpusFile)]
    assert [f.key for f in found] == ["business/001.txt"]
    assert read(write, "business/001.txt")[0][0].id == "business/001"


def test_not_utf8_is_read_and_reported(tmp_path):
    path = text_file(tmp_path, "Fee of \xa315.8m agreed.\n".encode("cp1252"))
    articles, problems = read(path)
    assert "£15.8m" in articles[0].paragraphs[0]
    assert len(problems) == 1 and not problems[0].skipped
    assert "not valid UTF-8" in problems[0].reason


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "no text"), (b"\n\n  \n", "no text"), (b"date 2017\n", "no text"),
     (b"\x00\x01\x02binary\x00", "binary")],
)  # fmt: skip
def test_unusable_text_files_are_skipped_with_reason(tmp_path, content, reason):
    articles, problems = read(text_file(tmp_path, content))
    assert articles == []
    assert problems[0].skipped and reason in problems[0].reason
    assert str(tmp_path / "a.txt") in str(problems[0])


def jsonl(tmp_path: Path, *lines) -> Path:
    path = tmp_path / "w.jsonl"
    body = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    path.write_text(body + "\n", encoding="utf-8")
    return path


def test_jsonl_fields_and_extras_are_kept(tmp_path):
    record = {
        "id": "r1", "title": " Cocoa  review ", "date": "1987-02-26T15:01:01",
        "source": "Reuters", "url": "https://example.org/r1", "author": "A. Writer",
        "body": "One.\n\nTwo.", "topics": ["cocoa"], "dateline": "SALVADOR, Feb 26",
    }  # fmt: skip
    article = read(jsonl(tmp_path, record))[0][0]
    assert article.id == "r1"
    assert article.title == "Cocoa review" and not article.title_derived
    assert article.date == "1987-02-26T15:01:01"
    assert (article.source, article.url, article.author) == (
        "Reuters", "https://example.org/r1", "A. Writer",
    )  # fmt: skip
    assert article.paragraphs == ["One.", "Two."]
    assert article.extra == {"topics": ["cocoa"], "dateline": "SALVADOR, Feb 26"}
    assert article.origin.endswith("w.jsonl:1")


def test_jsonl_paragraphs_list_and_numeric_id(tmp_path):
    article = read(jsonl(tmp_path, {"id": 7, "paragraphs": ["A.", "B.\n\nC."]}))[0][0]
    assert article.id == "7"
    assert article.paragraphs == ["A.", "B.", "C."]
    assert article.title == "A." and article.title_derived


def test_jsonl_title_only_record_is_kept(tmp_path):
    article = read(jsonl(tmp_path, {"id": "t", "title": "Assets rose", "body": ""}))[0][0]
    assert article.paragraphs == [] and article.title == "Assets rose"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not an object"),
        ('"text"', "not an object"),
        ({"body": "no id"}, "no \"id\""),
        ({"id": "", "body": "x"}, "no \"id\""),
        ({"id": None, "body": "x"}, "no \"id\""),
        ({"id": "x"}, "no \"body\""),
        ({"id": "x", "body": None}, "no \"body\""),
        ({"id": "x", "paragraphs": [1, 2]}, "no \"body\""),
        ({"id": "x", "body": ""}, "no text"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)  # fmt: skip
def test_bad_records_are_skipped_and_the_rest_read(tmp_path, line, reason):
    path = jsonl(tmp_path, {"id": "before", "body": "ok"}, line, {"id": "after", "body": "ok"})
    articles, problems = read(path)
    assert [a.id for a in articles] == ["before", "after"]
    assert len(problems) == 1 and problems[0].skipped
    assert reason in problems[0].reason
    assert problems[0].origin.endswith("w.jsonl:2")


@pytest.mark.parametrize(
    ("field", "value"),
    [("date", 5), ("date", "yesterday"), ("title", 3), ("source", ["x"]), ("url", {"a": 1})],
)
def test_bad_optional_fields_are_dropped_with_a_warning(tmp_path, field, value):
    articles, problems = read(jsonl(tmp_path, {"id": "x", "body": "Text.", field: value}))
    assert articles[0].id == "x"
    assert getattr(articles[0], field if field != "title" else "title_derived") in (None, True)
    assert len(problems) == 1 and not problems[0].skipped


@pytest.mark.parametrize(
    ("text", "normalised"),
    [("1987-02-26", "1987-02-26"), ("1987-02", "1987-02"), ("1987", "1987"),
     ("1987-02-26T15:01:01", "1987-02-26T15:01:01"),
     ("2017-03-22T14:40:00Z", "2017-03-22T14:40:00+00:00")],
)  # fmt: skip
def test_iso_dates(tmp_path, text, normalised):
    assert read(jsonl(tmp_path, {"id": "x", "body": "T.", "date": text}))[0][0].date == normalised


def test_discover_finds_both_formats_recursively_and_ignores_others(tmp_path):
    for name in ("b.txt", "a/c.jsonl", "a/d.TXT", "notes.md", ".hidden.txt", ".git/x.txt"):
        text_file(tmp_path, "x", name)
    keys = [f.key for f in discover([tmp_path]) if isinstance(f, CorpusFile)]
    assert keys == ["a/c.jsonl", "a/d.TXT", "b.txt"]  # by path: the order owning duplicate ids


def test_discover_reports_a_missing_root(tmp_path):
    (problem,) = list(discover([tmp_path / "nope"]))
    assert isinstance(problem, Problem) and "no such file" in problem.reason


@pytest.mark.parametrize(
    ("line", "article_id"),
    [
        ('{"id": "wire-2", "body": "cut sh', "wire-2"),  # an edit gone wrong
        ('{"title": "x", "id" : "w\\u00e9", "body": }', "wé"),
        ('{"id": 42, "body": }', "42"),
        ('{"id": 4', None),  # cut inside the id: which id is not known
        ('{"id": "wire-', None),
        ('{"id": "  ", "body": x', None),
        ("{not json", None),
        ("[1, 2]", None),
        ({"body": "no id"}, None),
        ({"id": "x", "body": None}, "x"),
        ({"id": "x", "body": ""}, "x"),
        ({"id": 7, "paragraphs": [1]}, "7"),
        ('{"id": "deep", "x": ' + "[" * 100_000 + "]" * 100_000 + "}", "deep"),
        ('{"id": "big", "body": "' + "x" * (11 * 2**20) + '"}', "big"),  # over 10 MB
    ],
)
def test_a_skipped_record_names_its_id_when_legible(tmp_path, line, article_id):
    """Whose record broke: the indexer keeps that article's indexed copy."""
    (problem,) = [p for p in read(jsonl(tmp_path, line))[1] if p.skipped]
    assert problem.skipped and problem.article_id == article_id


@pytest.mark.parametrize("name", ["a.txt", "big.txt", "w.jsonl"])
def test_the_digest_covers_the_whole_file_as_read(tmp_path, name):
    import hashlib

    size = 11 * 2**20 if name == "big.txt" else 1_000  # the text reader stops at 10 MB
    content = (b'{"id": "x", "body": "Words."}\n' * (size // 30 + 1))[:size]
    path = text_file(tmp_path, content, name)
    digest = hashlib.blake2b()
    list(iter_file(CorpusFile(path, name), digest))
    assert digest.hexdigest() == hashlib.blake2b(content).hexdigest()


def test_discovery_order_is_path_order_whatever_the_walk(tmp_path):
    for name in ("b.jsonl", "a/z.jsonl", "a-b/x.jsonl", "A.txt", "a.jsonl"):
        text_file(tmp_path, "x", name)
    keys = [f.key for f in discover([tmp_path]) if isinstance(f, CorpusFile)]
    assert keys == ["A.txt", "a-b/x.jsonl", "a.jsonl", "a/z.jsonl", "b.jsonl"]
