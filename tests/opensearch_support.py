"""Helpers for the OpenSearch engine's tests: the local cluster, unique aliases, both engines."""

from __future__ import annotations

import json
import os
import socket
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from searchsvc.config import load_config

LOOPBACK = {"127.0.0.1", "localhost"}
CONTROL_TIMEOUT = 120  # seconds for a control command (stop-node waits for the node to close)


def node_urls() -> str:
    """SEARCHSVC_OPENSEARCH_URL, checked to be loopback only; skips the test when unset."""
    raw = os.environ.get("SEARCHSVC_OPENSEARCH_URL", "")
    urls = [u.strip() for u in raw.split(",") if u.strip()]
    if not urls:
        pytest.skip("SEARCHSVC_OPENSEARCH_URL is not set: start a cluster with `make opensearch`")
    for url in urls:
        if urlsplit(url).hostname not in LOOPBACK:
            pytest.fail(f"{url}: these tests only talk to 127.0.0.1")
    return ",".join(urls)


def control(command: str) -> dict:
    """One command to the cluster's control port (cluster/README.md); its JSON answer."""
    host, _, port = os.environ.get("SEARCHSVC_OPENSEARCH_CONTROL", "127.0.0.1:9290").rpartition(":")
    assert host in LOOPBACK, f"control port must be on 127.0.0.1, not {host}"
    with socket.create_connection((host, int(port)), timeout=CONTROL_TIMEOUT) as conn:
        conn.sendall(command.encode() + b"\n")
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = conn.recv(4096)
            if not chunk:
                break
            reply += chunk
    return json.loads(reply)


def unique_alias(kind: str) -> str:
    return f"test-os-{kind}-{uuid.uuid4().hex[:8]}"


def opensearch_config(urls: str, alias: str, **overrides):
    return load_config({"engine": "opensearch", "opensearch_url": urls,
                        "opensearch_index": alias, **overrides})  # fmt: skip


def whoosh_config(index: Path, **overrides):
    return load_config({"engine": "whoosh", "index": str(index), **overrides})


@contextmanager
def dropped_afterwards(engine):
    """Yields `engine`; deletes every index of its alias afterwards (generations, control)."""
    try:
        yield engine
    finally:
        alias = engine.layout.alias
        engine.cluster.client.indices.delete(
            index=f"{alias}-g*,{alias}-control", ignore_unavailable=True,
            allow_no_indices=True, expand_wildcards="all",
        )  # fmt: skip


def reuters_sample(path: Path, shared: Path, articles: int) -> Path:
    """The first `articles` records of Reuters-21578 (../shared), written to `path`."""
    source = shared / "corpora" / "reuters21578.jsonl"
    if not source.exists():
        pytest.skip(f"{source} is not there")
    with source.open(encoding="utf-8") as f:
        lines = [next(f) for _ in range(articles)]
    path.write_text("".join(lines), encoding="utf-8")
    return path
