"""searchsvc eval: reading query sets, scoring with ir-measures, and the command."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from searchsvc.cli import main
from searchsvc.engine.embedded.snapshot import IndexHandle
from searchsvc.evaluation.runs import (
    EvalInputError,
    evaluate,
    read_qrels,
    read_queries,
    score_run,
    write_run,
)
from searchsvc.evaluation.suite import (
    STAMP_FILE,
    cached_index,
    find_sets,
    format_stamp,
    half_of,
    mean_ratio,
    run_suite,
)
from searchsvc.search import search

QUERIES = (
    "c1\tCocoa prices and the drought\n"
    "c2\tWhy did the central bank hold interest rates?\n"
    "c3\tzebra xylophone\n"  # matches nothing
    "c4\tdate:[foo to bar]\n"  # refused (see the test below) or finds nothing
    "c5\tcocoa crash\n"  # a search that fails (see the test below)
)
QRELS = "c1 0 wire-1 1\nc2 0 wire-2 1\nc3 0 wire-3 1\nc4 0 wire-1 1\nc5 0 wire-1 1\n"


def test_score_run_matches_hand_computed_metrics():
    # q1 ranks d2, d1, d3 with d1 and d3 relevant; q2 found nothing; q3 is missing.
    run = {"q1": [("d2", 3.0), ("d1", 2.0), ("d3", 1.0)], "q2": []}
    qrels = {"q1": {"d1": 1, "d3": 1}, "q2": {"d9": 1}, "q3": {"d8": 1}}
    means, per_query = score_run(run, qrels)
    q1 = per_query["q1"]
    assert q1["MRR@10"] == pytest.approx(1 / 2)
    assert q1["MAP"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert q1["P@10"] == pytest.approx(2 / 10)
    assert q1["Recall@100"] == pytest.approx(1.0)
    ideal = 1 + 1 / math.log2(3)
    assert q1["nDCG@10"] == pytest.approx((1 / math.log2(3) + 1 / math.log2(4)) / ideal)
    # Queries with no results, or missing from the run, count as zero in every mean.
    assert per_query["q2"] == dict.fromkeys(q1, 0.0)
    assert per_query["q3"] == dict.fromkeys(q1, 0.0)
    assert means["MRR@10"] == pytest.approx(0.5 / 3)
    assert means["MAP"] == pytest.approx(q1["MAP"] / 3)


def test_score_run_keeps_the_ranking_order_even_with_tied_scores():
    run = {"q1": [("z", 1.0), ("a", 1.0)]}
    _, per_query = score_run(run, {"q1": {"z": 1}})
    assert per_query["q1"]["MRR@10"] == 1.0


def _failing_search(snapshot, request):
    """search(), failing on c4's and c5's text, as a parser bug would."""
    if request.q.startswith("date:"):
        raise ValueError("a date in the query is not a date")
    if request.q == "cocoa crash":
        raise NotImplementedError("Plus")
    return search(snapshot, request)


def test_evaluate_runs_every_query_and_scores_failures_as_zero(index_dir, tmp_path, monkeypatch):
    monkeypatch.setattr("searchsvc.search.search", _failing_search)
    queries_path, qrels_path = tmp_path / "q.tsv", tmp_path / "qrels.txt"
    queries_path.write_text(QUERIES, encoding="utf-8")
    qrels_path.write_text(QRELS, encoding="utf-8")
    snapshot = IndexHandle(index_dir).snapshot()
    run_path = tmp_path / "run.txt"
    result = evaluate(
        snapshot, read_queries(queries_path), read_qrels(qrels_path), depth=5, run_path=run_path
    )
    assert result.queries == 5
    assert result.per_query["c1"]["MRR@10"] == 1.0
    assert result.per_query["c2"]["MRR@10"] == 1.0
    assert result.per_query["c3"]["MRR@10"] == 0.0
    assert result.empty == ["c3", "c4", "c5"]
    assert set(result.failed) == {"c4", "c5"}
    assert "NotImplementedError: Plus" in result.failed["c5"]
    assert result.means["MRR@10"] == pytest.approx(2 / 5)
    lines = run_path.read_text().splitlines()
    assert lines[0].split() == ["c1", "Q0", "wire-1", "1", lines[0].split()[4], "searchsvc"]
    assert all(len(line.split()) == 6 for line in lines)
    assert len([line for line in lines if line.startswith("c1 ")]) <= 5


def test_write_run_is_trec_format(tmp_path):
    path = tmp_path / "run.txt"
    write_run({"7": [("a", 2.5), ("b", 1.0)]}, path)
    assert path.read_text() == "7 Q0 a 1 2.500000 searchsvc\n7 Q0 b 2 1.000000 searchsvc\n"


@pytest.mark.parametrize(
    ("reader", "text", "message"),
    [
        (read_queries, "1 no tab here\n", "expected 'qid<TAB>query text'"),
        (read_queries, "1\ta\n1\tb\n", "appears twice"),
        (read_queries, "\n", "no queries"),
        (read_qrels, "1 0 doc\n", "expected 'qid 0 docid relevance'"),
        (read_qrels, "1 0 doc high\n", "relevance must be an integer"),
        (read_qrels, "", "no judgements"),
    ],
)
def test_bad_input_files_name_the_problem(tmp_path, reader, text, message):
    path = tmp_path / "input.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(EvalInputError, match=message):
        reader(path)


def test_eval_command_prints_the_table_and_writes_the_run(index_dir, tmp_path):
    queries_path, qrels_path = tmp_path / "q.tsv", tmp_path / "qrels.txt"
    queries_path.write_text(QUERIES, encoding="utf-8")
    qrels_path.write_text(QRELS, encoding="utf-8")
    run_path = tmp_path / "run.txt"
    args = ["eval", "--queries", str(queries_path), "--qrels", str(qrels_path),
            "--index", str(index_dir), "--run", str(run_path), "--depth", "3"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    header, values = result.stdout.splitlines()[:2]
    assert header.split() == ["MAP", "nDCG@10", "P@10", "MRR@10", "Recall@100"]
    assert values.split()[3] == "0.6000"  # c1, c2 and c5 find theirs first
    assert "5 queries" in result.stdout
    assert "2 found nothing (scored zero)" in result.stdout
    assert run_path.read_text().startswith("c1 Q0 wire-1 1 ")


def test_eval_command_reports_bad_input_without_a_traceback(index_dir, tmp_path):
    queries_path, qrels_path = tmp_path / "q.tsv", tmp_path / "qrels.txt"
    queries_path.write_text(QUERIES, encoding="utf-8")
    qrels_path.write_text("c1 wire-1\n", encoding="utf-8")
    base = ["eval", "--queries", str(queries_path), "--qrels", str(qrels_path)]
    result = CliRunner().invoke(main, [*base, "--index", str(index_dir)])
    assert result.exit_code == 1
    assert "expected 'qid 0 docid relevance'" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)

    qrels_path.write_text(QRELS, encoding="utf-8")
    result = CliRunner().invoke(main, [*base, "--index", str(tmp_path / "nothing")])
    assert result.exit_code == 1
    assert "Traceback" not in result.output

    result = CliRunner().invoke(main, [*base, "--index", str(index_dir), "--depth", "0"])
    assert result.exit_code == 2
    assert "must be at least 1" in result.output


# -- the suite: two tiny hand-made sets -------------------------------------------------

SUITE = {
    # Known item (one relevant document a query): scored on MRR@10.
    "alpha": {
        "corpus": [
            {"id": "a1", "body": "Zebra crossing in the town centre."},
            {"id": "a2", "body": "A study of the giraffe neck."},
            {"id": "a3", "body": "Zebra and giraffe zoo opens."},
        ],
        # k1 finds a2 first (RR 1); k2 finds a1 (both words) before a3 (RR 1/2).
        "queries": "k1\tgiraffe neck\nk2\tzebra crossing\n",
        "qrels": "k1 0 a2 1\nk2 0 a3 1\n",
        "baselines": "engine\tqueries\tMAP\tnDCG@10\tMRR@10\tP@10\tR@100\n"
        "bm25s\t2\t0.5\t0.5\t0.6\t0.1\t1.0\ntantivy\t2\t0.5\t0.5\t0.5\t0.1\t1.0\n",
    },
    # Ad hoc (several relevant documents): scored on MAP.
    "beta": {
        "corpus": [
            {"id": "b1", "body": "Solar panel efficiency."},
            {"id": "b2", "body": "Solar wind storms."},
            {"id": "b3", "body": "A long panel discussion was held on the subject of rain."},
            {"id": "b4", "body": "Cooking for beginners."},
        ],
        # q1: b1, b2, b3 with b1 and b3 relevant (AP (1 + 2/3) / 2); q2: b4 only, b2 never
        # found (AP 1/2).
        "queries": "q1\tsolar panel\nq2\tcooking\n",
        "qrels": "q1 0 b1 1\nq1 0 b3 1\nq2 0 b4 1\nq2 0 b2 1\n",
    },
}
ALPHA = {"MRR@10": 0.75, "MAP": 0.75, "nDCG@10": (1 + 1 / math.log2(3)) / 2, "Recall@100": 1.0}
BETA_Q1_NDCG = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
BETA = {
    "MAP": ((1 + 2 / 3) / 2 + 1 / 2) / 2,
    "MRR@10": 1.0,
    "nDCG@10": (BETA_Q1_NDCG + 1 / (1 + 1 / math.log2(3))) / 2,
    "Recall@100": (1 + 1 / 2) / 2,
}


@pytest.fixture
def suite_dir(tmp_path):
    root = tmp_path / "suite"
    for name, files in SUITE.items():
        folder = root / name
        folder.mkdir(parents=True)
        lines = [json.dumps(record) for record in files["corpus"]]
        (folder / "corpus.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
        (folder / "queries.tsv").write_text(files["queries"], "utf-8")
        (folder / "qrels.txt").write_text(files["qrels"], "utf-8")
        if "baselines" in files:
            (folder / "baselines.tsv").write_text(files["baselines"], "utf-8")
    (root / "notes").mkdir()  # a folder that is not a set is passed over
    return root


def test_suite_scores_each_set_as_computed_by_hand(suite_dir, tmp_path):
    alpha, beta = run_suite(suite_dir, tmp_path / "cache")
    assert (alpha.name, alpha.primary, alpha.queries) == ("alpha", "MRR@10", 2)
    assert (beta.name, beta.primary, beta.queries) == ("beta", "MAP", 2)
    for result, expected in ((alpha, ALPHA), (beta, BETA)):
        for measure, value in expected.items():
            assert result.means[measure] == pytest.approx(value), (result.name, measure)
    assert alpha.baseline == ("bm25s", 0.6)
    assert alpha.ratio == pytest.approx(0.75 / 0.6)
    assert beta.baseline is None and beta.ratio is None
    assert mean_ratio([alpha, beta]) == pytest.approx(0.75 / 0.6)


@pytest.mark.parametrize(
    ("half", "alpha_queries", "beta_queries", "alpha_mrr"),
    # SHA-1 last bytes: k1 0x45 (odd), k2 0xc2 (even), q1 0x1a (even), q2 0x51 (odd).
    [("all", 2, 2, 0.75), ("tune", 1, 1, 0.5), ("test", 1, 1, 1.0)],
)
def test_suite_halves_split_by_the_hash_of_the_query_id(
    suite_dir, tmp_path, half, alpha_queries, beta_queries, alpha_mrr
):
    alpha, beta = run_suite(suite_dir, tmp_path / "cache", half=half)
    assert (alpha.queries, beta.queries) == (alpha_queries, beta_queries)
    assert alpha.means["MRR@10"] == pytest.approx(alpha_mrr)
    assert beta.primary == "MAP"  # the rule reads the whole set's judgements, not the half's


@pytest.mark.parametrize(
    ("qid", "half"), [("k1", "test"), ("k2", "tune"), ("q1", "tune"), ("q2", "test")]
)
def test_half_of_is_fixed(qid, half):
    assert half_of(qid) == half


def test_suite_indexes_are_reused_until_the_corpus_changes(suite_dir, tmp_path):
    (alpha, *_rest) = find_sets(suite_dir)
    cache = tmp_path / "cache"
    assert cached_index(alpha, cache)[1] is True
    assert cached_index(alpha, cache)[1] is False
    with alpha.corpus.open("a", encoding="utf-8") as corpus:
        corpus.write(json.dumps({"id": "a4", "body": "Another zebra."}) + "\n")
    assert cached_index(alpha, cache)[1] is True
    stamp = json.loads((cache / "alpha" / STAMP_FILE).read_text())
    assert stamp["format"] == format_stamp()


def test_eval_suite_command_prints_one_table_and_json(suite_dir, tmp_path):
    args = ["eval", "--suite", str(suite_dir), "--cache", str(tmp_path / "cache")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["set", "queries", "MAP", "nDCG@10", "MRR@10", "Recall@100",
                                "primary", "baseline", "ratio"]  # fmt: skip
    assert lines[1].split()[0] == "alpha" and lines[1].split()[-1] == "1.250x"
    assert lines[2].split()[0] == "beta" and lines[2].split()[-2:] == ["-", "-"]
    assert lines[3].split() == ["mean", "ratio", "1.250x"]
    result = CliRunner().invoke(main, [*args, "--json", "--half", "test"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["half"] == "test" and [s["set"] for s in body["sets"]] == ["alpha", "beta"]
    assert body["sets"][0]["MRR@10"] == 1.0 and body["mean_ratio"] == pytest.approx(1 / 0.6, 1e-3)
    assert body["collapse"] is True and "one hit per story" in lines[-1]
    result = CliRunner().invoke(main, [*args, "--json", "--half", "test", "--no-collapse"])
    assert result.exit_code == 0 and json.loads(result.stdout)["collapse"] is False


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--queries", "x"], "leave out --queries"),
        ([], "no folder with corpus.jsonl"),
    ],
)
def test_eval_suite_usage_errors(tmp_path, extra, message):
    (tmp_path / "x").write_text("1\ta\n")
    args = ["eval", "--suite", str(tmp_path), "--cache", str(tmp_path / "c")]
    result = CliRunner().invoke(main, [*args, *[str(tmp_path / e) if e == "x" else e
                                               for e in extra]])  # fmt: skip
    assert result.exit_code in (1, 2)
    assert message in result.output
