"""Whatever lands in the corpus: each bad file is named with its reason, the rest is indexed.

`searchsvc reindex` runs as a real process over a corpus of broken files
beside good ones; it must finish (exit 3, skipped files listed) and serve
every good article.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from searchsvc import create_app

GOOD = {
    "good-1",
    "good-2",
    "good-3",
    "date-5",
    "bad-date",
    "title-list",
    "far-date",
    "deep-ok",
    "bad-date-txt",
}


def _good_record(article_id: str, **fields) -> str:
    record = {"id": article_id, "body": f"Quokka sighting number {article_id}.", **fields}
    return json.dumps(record)


def _build(corpus: Path, outside: Path) -> dict[str, str]:
    """The hostile corpus; returns {file name fragment: reason fragment} expected on stderr."""
    corpus.mkdir()
    outside.mkdir()
    (corpus / "good.jsonl").write_text(
        "\n".join(_good_record(f"good-{n}") for n in (1, 2)) + "\n", "utf-8"
    )
    (corpus / "good-3.txt").write_text("Quokka headline\n\nA quokka was seen today.\n", "utf-8")
    expected = {}

    (corpus / "binary.txt").write_bytes(bytes(range(256)) * 64)
    expected["binary.txt"] = "binary file"
    (corpus / "empty.txt").write_bytes(b"")
    expected["empty.txt"] = "no text"
    (corpus / "blank.txt").write_text("\n\n   \n\t\n", "utf-8")
    expected["blank.txt"] = "no text"
    (corpus / "empty.jsonl").write_bytes(b"")
    expected["empty.jsonl"] = "no records"
    (corpus / "truncated.jsonl").write_text(
        _good_record("trunc-ok-is-not-expected")[:-1] + "\n" + '{"id": "t2", "body": "abc', "utf-8"
    )
    expected["truncated.jsonl:1"] = "not valid JSON"
    expected["truncated.jsonl:2"] = "not valid JSON"
    (corpus / "not-objects.jsonl").write_text('[1, 2]\n"text"\n5\nnull\ntrue\n', "utf-8")
    for number, kind in enumerate(("list", "str", "int", "NoneType", "bool"), start=1):
        expected[f"not-objects.jsonl:{number}"] = f"a JSON {kind}, not an object"
    (corpus / "types.jsonl").write_text(
        "\n".join(
            [
                _good_record("date-5", date=5),
                json.dumps({"id": "body-null", "body": None}),
                json.dumps({"id": "para-ints", "paragraphs": [1, 2]}),
                json.dumps({"id": 5.5, "body": "float id"}),
                json.dumps({"id": None, "body": "no id"}),
                json.dumps({"id": ["x"], "body": "list id"}),
                _good_record("bad-date", date="yesterday"),
                _good_record("far-date", date="0001-01-01T00:00:00+01:00"),
                _good_record("title-list", title=["not", "text"]),
                json.dumps({"id": "surrogate\udc80", "body": "lone surrogate"}),
            ]
        )
        + "\n",
        "utf-8",
    )
    expected["types.jsonl:1"] = "date 5 is not ISO 8601"
    expected["types.jsonl:2"] = 'no "body" text'
    expected["types.jsonl:3"] = 'no "body" text'
    expected["types.jsonl:4"] = 'no "id"'
    expected["types.jsonl:5"] = 'no "id"'
    expected["types.jsonl:6"] = 'no "id"'
    expected["types.jsonl:7"] = "is not ISO 8601"
    expected["types.jsonl:8"] = "is not ISO 8601"
    expected["types.jsonl:9"] = "title is not text"
    expected["types.jsonl:10"] = "escape that is not a character"
    (corpus / "bad-date-txt.txt").write_text("date 2017-02-30 A quokka, undated.\n", "utf-8")
    expected["bad-date-txt.txt"] = "is not a date"

    with (corpus / "huge.jsonl").open("w", encoding="utf-8") as f:
        f.write(_good_record("huge-1", padding="x" * (50 * 2**20)) + "\n")
        f.write(_good_record("after-huge") + "\n")
    expected["huge.jsonl:1"] = "record larger than 10 MB"
    (corpus / "huge.txt").write_bytes(b"word " * (11 * 2**20 // 5))
    expected["huge.txt"] = "larger than 10 MB"

    nested = "[" * 200_000 + "]" * 200_000
    deep = '{"a":' * 200_000 + "1" + "}" * 200_000
    ok_depth = json.dumps(
        {"id": "deep-ok", "body": "Quokka deep.", "x": json.loads("[" * 200 + "]" * 200)}
    )
    (corpus / "nested.jsonl").write_text(f"{nested}\n{deep}\n{ok_depth}\n", "utf-8")
    expected["nested.jsonl:1"] = "nested too deeply"
    expected["nested.jsonl:2"] = "nested too deeply"

    os.symlink(corpus, corpus / "loop")
    expected[str(corpus / "loop")] = "loops back"
    (outside / "secret.txt").write_text("Outside secret quokka.\n", "utf-8")
    os.symlink(outside / "secret.txt", corpus / "escape.txt")
    expected["escape.txt"] = "outside the corpus"
    os.symlink(outside, corpus / "escape-dir")
    expected["escape-dir"] = "outside the corpus"
    os.symlink(corpus / "missing.txt", corpus / "dangling.txt")
    expected["dangling.txt"] = "cannot be read"
    os.mkfifo(corpus / "fifo.txt")
    expected["fifo.txt"] = "not a regular file"
    (corpus / os.fsdecode(b"bad-\xff-name.txt")).write_text("Quokka bad name.\n", "utf-8")
    expected["bad-\\xff-name.txt"] = "not valid UTF-8"

    # Odd but valid names are read like any other.
    for name in (
        "we ird  name.txt",
        "naïve – ünï.txt",
        "<script>x.txt",
        "-rf.txt",
        "tab\there.txt",
    ):
        (corpus / name).write_text("Quokka odd name.\n", "utf-8")
    return expected


@pytest.mark.slow
def test_hostile_corpus_is_reported_and_the_rest_indexed(tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    expected = _build(corpus, tmp_path / "outside")
    result = subprocess.run(
        [sys.executable, "-m", "searchsvc", "reindex", "--verbose", "--corpus", str(corpus),
         "--index", str(index)],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    missing = [
        (name, reason)
        for name, reason in expected.items()
        if not any(name in line and reason in line for line in lines)
    ]
    assert not missing, (missing, result.stderr[-4000:])

    app = create_app({"index": index})
    client = app.test_client()
    body = client.get("/api/search?q=quokka&size=100").get_json()
    # Articles of one template fold into one story: its other versions are found too.
    found = {i for hit in body["hits"] for i in (hit["id"], *(v["id"] for v in hit["versions"]))}
    odd = {"we ird  name", "naïve – ünï", "<script>x", "-rf", "tab\there"}
    assert found == GOOD | {"after-huge"} | odd, found
    assert "secret" not in found and "escape" not in found
    assert client.get("/api/articles/deep-ok").status_code == 200
    assert client.get("/articles/deep-ok").status_code == 200
    print(f"\n{len(expected)} hostile inputs reported; {len(found)} good articles indexed")
