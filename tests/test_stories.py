"""Near-duplicate stories kept with each generation: found at reindex, right after an
incremental run, and (below) collapsed at query time."""

from __future__ import annotations

import html
import json
import re
import shutil

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from searchsvc.engine.embedded import stories as folding
from searchsvc.engine.embedded.arrayrank import Ranking
from searchsvc.evaluation.runs import as_found
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


# At query time: one hit per story, counted once.


@pytest.fixture
def client(corpus, tmp_path):
    from searchsvc import create_app

    _write(corpus / "c.jsonl", [
        {"id": f"trade-{n}", "title": f"Trade note {n}", "date": f"1987-04-{n + 1:02d}",
         "body": f"Exporters in region {n} reported a trade surplus of {n} billion yen. "
                 + " ".join(f"word{n}x{k}" for k in range(12))}
        for n in range(6)
    ])  # fmt: skip
    reindex([corpus], tmp_path / "index")
    return create_app({"index": str(tmp_path / "index")}).test_client()


def _search(client, **params):
    answer = client.get("/api/search", query_string=params)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_a_story_is_one_hit_with_its_other_versions(client):
    body = _search(client, q="japan trade surplus yen")
    ids = [hit["id"] for hit in body["hits"]]
    assert len([i for i in ids if i.startswith("sumita")]) == 1
    first = next(hit for hit in body["hits"] if hit["id"].startswith("sumita"))
    assert [v["id"] for v in first["versions"]] == [
        other for other in ("sumita-1", "sumita-2") if other != first["id"]
    ]
    assert first["versions"][0]["url"].startswith("/articles/sumita-")
    assert body["counts"] == "stories" and body["total"] == len(ids) == 7


def test_collapse_false_lists_and_counts_every_article(client):
    body = _search(client, q="japan trade surplus yen", collapse="false")
    ids = [hit["id"] for hit in body["hits"]]
    assert {"sumita-1", "sumita-2"} <= set(ids)
    assert all(hit["versions"] == [] for hit in body["hits"])
    assert body["counts"] == "articles" and body["total"] == len(ids) == 8


@pytest.mark.parametrize("size", [1, 2, 3, 7])
def test_pages_of_stories_follow_on_without_repeats(client, size):
    seen = []
    for page in range(1, 9):
        seen += [hit["id"] for hit in _search(client, q="trade surplus", size=size,
                                              page=page)["hits"]]  # fmt: skip
    assert len(seen) == len(set(seen)) == 7
    assert len([i for i in seen if i.startswith("sumita")]) == 1


def test_facets_count_stories_unless_collapse_is_off(client):
    collapsed = _search(client, q="trade surplus", since="1987-03-01", until="1987-03-31")
    everything = _search(client, q="trade surplus", since="1987-03", until="1987-03",
                         collapse="false")  # fmt: skip
    assert collapsed["total"] == 1 and everything["total"] == 2
    days = collapsed["facets"]["date"]["buckets"]
    assert sum(bucket["count"] for bucket in days) == 1


def test_the_page_says_how_many_other_versions(client):
    page = client.get("/search", query_string={"q": "sumita japan trade surplus"})
    text = page.get_data(as_text=True)
    assert "1 other version" in text
    assert "7 stories for" in " ".join(text.split())
    every = re.search(r'<a class="fold" href="([^"]+)">Show every version</a>', text).group(1)
    assert html.unescape(every) == "/search?q=sumita+japan+trade+surplus&collapse=false"
    unfolded = client.get(html.unescape(every)).get_data(as_text=True)
    assert re.search(r'<a class="fold" href="/search\?q=[^"&]+">One hit per story</a>', unfolded)
    lone = client.get("/search", query_string={"q": "cocoa"}).get_data(as_text=True)
    assert 'class="fold"' not in lone  # nothing to unfold
    plain = client.get(
        "/search", query_string={"q": "sumita japan trade surplus", "collapse": "false"}
    )
    assert "8 articles for" in " ".join(plain.get_data(as_text=True).split())


@pytest.mark.parametrize("value", ["maybe", "2", "-"])
def test_a_bad_collapse_value_is_a_clear_error(client, value):
    answer = client.get("/api/search", query_string={"q": "yen", "collapse": value})
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "bad_parameter"


# The folding itself, on generated rankings.


def _columns(story_numbers):
    story = np.asarray(story_numbers, dtype=np.int32)
    place = np.zeros(len(story), dtype=np.int32)
    for number in set(story_numbers) - {folding.NO_STORY}:
        members = np.flatnonzero(story == number)
        place[members[::-1]] = np.arange(len(members))  # the last document has the first id
    return folding.StoryColumns(story, place)


@st.composite
def _rankings(draw):
    count = draw(st.integers(0, 40))
    numbers = draw(st.lists(st.integers(-1, 6), min_size=count, max_size=count))
    order = draw(st.permutations(range(count)))
    return _columns(numbers), [(docnum, float(count - at)) for at, docnum in enumerate(order)]


@given(_rankings(), st.integers(1, 7), st.integers(1, 12))
def test_pages_hold_each_story_once_in_the_order_of_its_best_version(generated, size, asked):
    columns, top = generated
    matched = np.asarray(sorted(docnum for docnum, _ in top), dtype=np.int64)

    def rerank(depth):
        return Ranking(matched, top[:depth])

    shown = []
    for page in range(1, len(top) + 2):
        entries, _ = folding.collapse_page(rerank(asked), rerank, page, size, columns, asked)
        shown += folding.with_every_version(entries, matched, columns)
    heads = [docnum for docnum, _, _ in shown]
    expected = []
    for docnum, _ in top:
        story = int(columns.story[docnum])
        if story == folding.NO_STORY or all(int(columns.story[h]) != story for h in expected):
            expected.append(docnum)
    assert heads == expected
    every = sorted(d for head, _, others in shown for d in (head, *others))
    assert every == matched.tolist()  # each matching article is a hit or one of its versions
    assert len(folding.one_per_story(matched, columns)) == len(heads)


def test_a_story_counts_as_its_matching_version_with_the_first_id():
    columns = _columns([0, 0, 0, -1, 1, 1])  # places: doc 2 first, then 1, 0; doc 5, then 4
    assert folding.one_per_story(np.array([0, 1, 2, 3, 4, 5]), columns).tolist() == [2, 3, 5]
    assert folding.one_per_story(np.array([0, 1, 3, 4]), columns).tolist() == [1, 3, 4]
    assert folding.one_per_story(np.array([], dtype=np.int64), columns).tolist() == []


@pytest.mark.parametrize(
    ("judged", "expected"),
    [
        ({}, ["x", "a", "d"]),
        ({"b": 1}, ["x", "b", "d"]),  # a version judged relevant is found at its hit's place
        ({"a": 1}, ["x", "a", "d"]),  # unjudged versions take no place
        ({"b": 1, "c": 2}, ["x", "c", "b", "d"]),  # several judged: the most relevant first
        ({"x": 1, "c": 1}, ["x", "c", "d"]),
    ],
)
def test_a_story_shown_is_each_of_its_versions_found_there(judged, expected):
    shown = {"q": [(("x",), 3.0), (("a", "b", "c"), 2.0), (("d",), 1.0)]}
    assert [i for i, _ in as_found(shown, {"q": judged}, depth=10)["q"]] == expected
    assert len(as_found(shown, {"q": judged}, depth=2)["q"]) == 2


def test_eval_finds_a_known_item_that_is_another_version(client, tmp_path):
    from searchsvc.config import load_config
    from searchsvc.engine import open_engine
    from searchsvc.evaluation.runs import evaluate

    view = open_engine(load_config({"index": str(tmp_path / "index")})).view()
    queries = {"1": "japan trade surplus yen", "2": "japan trade surplus yen"}
    evaluation = evaluate(view, queries, {"1": {"sumita-1": 1}, "2": {"sumita-2": 1}})
    assert evaluation.per_query["1"]["MRR@10"] == evaluation.per_query["2"]["MRR@10"] == 1.0


def test_eval_without_collapse_ranks_every_version_on_its_own(client, tmp_path):
    from click.testing import CliRunner

    from searchsvc.cli import main
    from searchsvc.config import load_config
    from searchsvc.engine import open_engine
    from searchsvc.evaluation.runs import evaluate

    view = open_engine(load_config({"index": str(tmp_path / "index")})).view()
    queries = {"1": "japan trade surplus yen", "2": "japan trade surplus yen"}
    qrels = {"1": {"sumita-1": 1}, "2": {"sumita-2": 1}}
    evaluation = evaluate(view, queries, qrels, collapse=False)
    reciprocal = {q: evaluation.per_query[q]["MRR@10"] for q in queries}
    assert sorted(reciprocal.values())[1] == 1.0  # two versions: one first, the other after
    behind = min(reciprocal, key=reciprocal.get)
    assert reciprocal[behind] < 1.0
    (tmp_path / "q.tsv").write_text("1\tjapan trade surplus yen\n")
    (tmp_path / "qrels.txt").write_text(f"1 0 sumita-{behind} 1\n")
    args = ["eval", "--queries", str(tmp_path / "q.tsv"), "--qrels", str(tmp_path / "qrels.txt"),
            "--index", str(tmp_path / "index"), "--json"]  # fmt: skip
    folded, each = (CliRunner().invoke(main, args + extra) for extra in ([], ["--no-collapse"]))
    assert folded.exit_code == 0 and each.exit_code == 0, folded.output + each.output
    assert json.loads(folded.stdout)["means"]["MRR@10"] == 1.0
    assert json.loads(each.stdout)["means"]["MRR@10"] == pytest.approx(reciprocal[behind])


def test_the_cli_folds_versions_unless_told_not_to(client, tmp_path):
    from click.testing import CliRunner

    from searchsvc.cli import main

    runner, index = CliRunner(), str(tmp_path / "index")
    folded = runner.invoke(main, ["search", "sumita japan trade surplus", "--index", index])
    assert folded.exit_code == 0, folded.output
    assert "7 stories for" in folded.output
    assert "and 1 other version(s): sumita-" in folded.output
    every = runner.invoke(main, ["search", "sumita japan trade surplus", "--index", index,
                                 "--no-collapse", "--json"])  # fmt: skip
    assert every.exit_code == 0, every.output
    body = json.loads(every.output)
    assert (body["counts"], body["total"]) == ("articles", 8)


def test_exports_name_every_version(client):
    import csv
    import io

    answer = client.get("/search.csv", query_string={"q": "japan trade surplus yen"})
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert len(rows) == 7 == int(answer.headers["X-Total-Count"])
    named = {row["id"] for row in rows} | {v for row in rows for v in row["versions"].split()}
    assert {"sumita-1", "sumita-2"} <= named and len(named) == 8
    lines = client.get("/search.jsonl", query_string={"q": "japan trade surplus yen",
                                                      "collapse": "false"})  # fmt: skip
    every = [json.loads(line) for line in lines.get_data(as_text=True).splitlines()]
    assert len(every) == 8 and all(line["versions"] == [] for line in every)
