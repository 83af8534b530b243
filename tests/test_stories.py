"""Near-duplicate stories kept with each generation: found at reindex, right after an
incremental run, and (below) collapsed at query time."""

from __future__ import annotations

import json
import shutil

import pytest

from searchsvc.index import store
from searchsvc.index.indexer import STORIES_FILE, reindex

STORY = (
    "Japan's trade surplus would shrink if the yen kept rising, the central bank governor "
    "told parliament on Tuesday, adding that exporters were already cutting prices abroad."
)
RESENT = STORY.replace("on Tuesday", "on Tuesday afternoon")
OTHER = "Cocoa prices fell in London as the harvest in Ivory Coast came in larger than expected."


def _write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def _stories(index):
    return store.read_json(store.current_generation(index).path / STORIES_FILE)


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "corpus"
    root.mkdir()
    _write(root / "a.jsonl", [
        {"id": "sumita-1", "title": "Trade surplus cut would benefit Japan", "body": STORY,
         "date": "1987-03-02"},
        {"id": "sumita-2", "title": "Trade surplus cut would benefit Japan", "body": RESENT,
         "date": "1987-03-02"},
    ])  # fmt: skip
    _write(root / "b.jsonl", [{"id": "cocoa", "title": "Cocoa falls", "body": OTHER}])
    return root


def test_a_re_sent_story_is_one_group(corpus, tmp_path):
    reindex([corpus], tmp_path / "index")
    assert _stories(tmp_path / "index") == {"sumita-1": ["sumita-1", "sumita-2"]}


def test_an_incremental_run_keeps_the_groups_of_files_it_did_not_read(corpus, tmp_path):
    index = tmp_path / "index"
    reindex([corpus], index)
    _write(corpus / "b.jsonl", [{"id": "cocoa", "title": "Cocoa falls", "body": OTHER + " More."}])
    report = reindex([corpus], index)
    assert report.updated == 1 and report.files_unchanged == 1
    rebuilt = tmp_path / "rebuilt"
    reindex([corpus], rebuilt, full=True)
    assert _stories(index) == _stories(rebuilt) == {"sumita-1": ["sumita-1", "sumita-2"]}


def test_a_generation_without_signatures_is_signed_from_its_stored_records(corpus, tmp_path):
    index = tmp_path / "index"
    reindex([corpus], index)
    # As an index written before signatures were kept: the next run signs what it carries.
    (store.current_generation(index).path / "signatures.npz").unlink()
    _write(corpus / "b.jsonl", [])
    reindex([corpus], index)
    assert _stories(index) == {"sumita-1": ["sumita-1", "sumita-2"]}


def test_removing_one_version_ends_the_group(corpus, tmp_path):
    index = tmp_path / "index"
    reindex([corpus], index)
    lines = (corpus / "a.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (corpus / "a.jsonl").write_text(lines[0], encoding="utf-8")
    reindex([corpus], index)
    assert _stories(index) == {}
    shutil.rmtree(index)
