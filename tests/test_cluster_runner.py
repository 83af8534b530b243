"""The local OpenSearch cluster of `make opensearch`: three real nodes, one stopped mid-query.

Runs only when SEARCHSVC_OPENSEARCH_URL names the cluster's nodes; the control port
(cluster/README.md) is SEARCHSVC_OPENSEARCH_CONTROL, 127.0.0.1:9290 by default.
"""

import json
import os
import socket
import threading
import time
import uuid
from urllib.parse import urlsplit

import pytest
import requests

pytestmark = [pytest.mark.slow, pytest.mark.opensearch]

DOCS = 40
TIMEOUT = 30  # seconds for one HTTP call or control command
LOOPBACK = {"127.0.0.1", "localhost"}


def node_urls() -> list[str]:
    """The node URLs from the environment; only loopback, as tests talk to nothing else."""
    raw = os.environ.get("SEARCHSVC_OPENSEARCH_URL", "")
    urls = [u.strip().rstrip("/") for u in raw.split(",") if u.strip()]
    if not urls:
        pytest.skip("SEARCHSVC_OPENSEARCH_URL is not set: start a cluster with `make opensearch`")
    for url in urls:
        if urlsplit(url).hostname not in LOOPBACK:
            pytest.fail(f"{url}: these tests only talk to 127.0.0.1")
    return urls


def control(command: str) -> dict:
    """Sends one line to the cluster's control port and returns its JSON answer."""
    host, _, port = os.environ.get("SEARCHSVC_OPENSEARCH_CONTROL", "127.0.0.1:9290").rpartition(":")
    assert host in LOOPBACK, f"control port must be on 127.0.0.1, not {host}"
    # stop-node waits for the node to close, start-node for it to bind: allow more than HTTP.
    with socket.create_connection((host, int(port)), timeout=4 * TIMEOUT) as conn:
        conn.sendall(command.encode() + b"\n")
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = conn.recv(4096)
            if not chunk:
                break
            reply += chunk
    return json.loads(reply)


def health(url: str, **wait: str) -> dict:
    """Cluster health as seen by one node, waiting (bounded) for the given conditions."""
    params = {**{f"wait_for_{k}": v for k, v in wait.items()}, "timeout": "60s"}
    response = requests.get(f"{url}/_cluster/health", params=params, timeout=90)
    return response.json()


def node_number(name: str) -> int:
    """Node names are node-1..node-N, N also being the node's number in the control protocol."""
    assert name.startswith("node-"), name
    return int(name.removeprefix("node-"))


@pytest.fixture(scope="module")
def urls() -> list[str]:
    urls = node_urls()
    status = control("status")
    assert status["ok"], status
    running = [n["http"] for n in status["nodes"] if n["running"]]
    assert sorted(running) == sorted(urls), "the URLs must name every running node"
    return urls


@pytest.fixture
def index(urls):
    """A fresh index of DOCS documents, 3 shards and 1 replica, deleted afterwards."""
    name = f"test-cluster-{uuid.uuid4().hex[:8]}"
    settings = {"settings": {"number_of_shards": 3, "number_of_replicas": 1}}
    created = requests.put(f"{urls[0]}/{name}", json=settings, timeout=TIMEOUT)
    assert created.status_code == 200, created.text
    try:
        lines = []
        for i in range(DOCS):
            lines.append(json.dumps({"index": {"_id": str(i)}}))
            lines.append(json.dumps({"title": f"paragraph {i}", "n": i}))
        bulk = requests.post(
            f"{urls[0]}/{name}/_bulk",
            params={"refresh": "true"},
            data="\n".join(lines) + "\n",
            headers={"Content-Type": "application/x-ndjson"},
            timeout=TIMEOUT,
        ).json()
        assert bulk["errors"] is False, bulk
        assert health(urls[0], status="green")["status"] == "green"
        yield name
    finally:
        requests.delete(f"{urls[0]}/{name}", timeout=TIMEOUT)


@pytest.mark.parametrize("position", [0, 1, 2])
def test_each_node_sees_three_nodes_green(urls, position):
    answer = health(urls[position], status="green", nodes="3")
    assert (answer["status"], answer["number_of_nodes"], answer["timed_out"]) == ("green", 3, False)


@pytest.mark.parametrize(
    ("command", "error"),
    [
        ("", "unknown command"),
        ("bogus", "unknown command"),
        ("stop-node", "unknown command"),
        ("stop-node 0", "node must be a number from 1 to 3"),
        ("stop-node 4", "node must be a number from 1 to 3"),
        ("stop-node two", "node must be a number from 1 to 3"),
        ("start-node 1", "node 1 is already running"),
        ("stop-node 1 2", "unknown command"),
    ],
)
def test_control_rejects_bad_commands(urls, command, error):
    answer = control(command)
    assert answer["ok"] is False
    assert error in answer["error"]


def complete_search(url: str, index: str) -> tuple[tuple, int]:
    """One search as a careful client makes it: a shard failure or an error is retried.

    A search in flight when a node stops can lose that node's shards in the fetch phase,
    which OpenSearch does not retry on the replica: `_shards.failed` says so.
    """
    body = {"query": {"match_all": {}}, "size": 100, "track_total_hits": True}
    params = {"allow_partial_search_results": "false"}
    answer: tuple = ("no answer", url)
    for attempt in range(1, 4):
        try:
            response = requests.post(
                f"{url}/{index}/_search", params=params, json=body, timeout=TIMEOUT
            )
            result = response.json()
            if response.status_code == 200 and result["_shards"]["failed"] == 0:
                ids = {hit["_id"] for hit in result["hits"]["hits"]}
                return (result["hits"]["total"]["value"], len(ids)), attempt
            answer = (response.status_code, url, response.text[:200])
        except (requests.RequestException, KeyError, ValueError) as e:
            answer = ("error", url, repr(e))
    return answer, attempt


def query_loop(urls: list[str], index: str, stop: threading.Event, answers: list) -> None:
    """Searches round-robin until told to stop; bounded in count and time all the same.

    The count must outlast a node's stop and restart (up to a minute or two on a busy
    machine): 2,000 searches 20 ms apart once ran out before the node was down; 4,000
    searches 50 ms apart take over 200 s, the deadline 240 s.
    """
    deadline = time.monotonic() + 240
    i = 0
    while not stop.is_set() and i < 4000 and time.monotonic() < deadline:
        answers.append(complete_search(urls[i % len(urls)], index))
        i += 1
        time.sleep(0.05)


@pytest.mark.parametrize("victim", ["cluster_manager", "other"])
def test_searches_stay_complete_while_a_node_is_down(urls, index, victim):
    names = requests.get(f"{urls[0]}/_cat/nodes", params={"h": "name,m"}, timeout=TIMEOUT).text
    by_role = {"cluster_manager": [], "other": []}
    for line in names.split("\n"):
        if line.strip():
            name, mark = line.split()
            by_role["cluster_manager" if mark == "*" else "other"].append(name)
    node = node_number(sorted(by_role[victim])[0])
    down_url = control("status")["nodes"][node - 1]["http"]
    live = [u for u in urls if u != down_url]
    assert len(live) == 2, (urls, down_url)

    answers: list = []
    stop = threading.Event()
    loop = threading.Thread(target=query_loop, args=(live, index, stop, answers))
    loop.start()
    try:
        stopped = control(f"stop-node {node}")
        assert stopped["ok"] and stopped["running"] is False, stopped
        down = health(live[0], nodes="2")
        assert down["number_of_nodes"] == 2, down
        during = len(answers)
        time.sleep(2)  # queries against a cluster known to be one node short
        assert len(answers) > during
        started = control(f"start-node {node}")
        assert started["ok"] and started["running"] is True, started
        again = health(live[0], status="green", nodes="3")
        assert (again["status"], again["number_of_nodes"]) == ("green", 3), again
    finally:
        stop.set()
        loop.join(timeout=60)
        if not control("status")["nodes"][node - 1]["running"]:
            control(f"start-node {node}")

    assert answers, "the query loop ran no query"
    results = [result for result, _ in answers]
    assert set(results) == {(DOCS, DOCS)}, [r for r in results if r != (DOCS, DOCS)][:5]
    for url in urls:
        assert complete_search(url, index) == ((DOCS, DOCS), 1)
