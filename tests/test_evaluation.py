"""searchsvc eval: reading query sets, scoring with ir-measures, and the command."""

from __future__ import annotations

import math

import pytest
from click.testing import CliRunner

from searchsvc.cli import main
from searchsvc.evaluation import (
    EvalInputError,
    evaluate,
    read_qrels,
    read_queries,
    score_run,
    write_run,
)
from searchsvc.snapshot import IndexHandle

QUERIES = (
    "c1\tCocoa prices and the drought\n"
    "c2\tWhy did the central bank hold interest rates?\n"
    "c3\tzebra xylophone\n"  # matches nothing
    "c4\tdate:[foo to bar]\n"  # rejected by the parser
)
QRELS = "c1 0 wire-1 1\nc2 0 wire-2 1\nc3 0 wire-3 1\nc4 0 wire-1 1\n"


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


def test_evaluate_runs_every_query_and_scores_failures_as_zero(index_dir, tmp_path):
    queries_path, qrels_path = tmp_path / "q.tsv", tmp_path / "qrels.txt"
    queries_path.write_text(QUERIES, encoding="utf-8")
    qrels_path.write_text(QRELS, encoding="utf-8")
    snapshot = IndexHandle(index_dir).snapshot()
    run_path = tmp_path / "run.txt"
    result = evaluate(
        snapshot, read_queries(queries_path), read_qrels(qrels_path), depth=5, run_path=run_path
    )
    assert result.queries == 4
    assert result.per_query["c1"]["MRR@10"] == 1.0
    assert result.per_query["c2"]["MRR@10"] == 1.0
    assert result.per_query["c3"]["MRR@10"] == 0.0
    assert result.empty == ["c3", "c4"]
    assert set(result.failed) == {"c4"}
    assert result.means["MRR@10"] == pytest.approx(0.5)
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
    assert values.split()[3] == "0.5000"
    assert "4 queries" in result.stdout
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
