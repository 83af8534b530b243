"""The product as a user installs it: sdist -> wheel -> a clean virtual environment.

Every other test imports the checkout; this one drives only the installed copy,
from a folder outside the checkout, so a file missing from the package fails here.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
import requests
from conftest import REPO, write_corpus
from reliability_support import free_port

pytestmark = pytest.mark.slow


def _run(*args, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(arg) for arg in args], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


def _ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


class Installed:
    def __init__(self, root: Path):
        self.root = root
        self.dist = root / "dist"
        _ok(_run(sys.executable, "-m", "build", "--outdir", self.dist, REPO, cwd=root))
        (self.wheel,) = self.dist.glob("*.whl")
        (self.sdist,) = self.dist.glob("*.tar.gz")
        venv = root / "venv"
        _ok(_run(sys.executable, "-m", "venv", venv, cwd=root))
        self.bin = venv / "bin"
        _ok(_run(self.bin / "pip", "install", "--quiet", self.wheel, cwd=root))

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return _run(self.bin / "searchsvc", *args, cwd=self.root, timeout=300)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs a git checkout to know which files the package must ship")
    return Installed(tmp_path_factory.mktemp("installed"))


def _package_files() -> set[str]:
    listed = subprocess.run(
        ["git", "ls-files", "searchsvc"], cwd=REPO, capture_output=True, text=True, check=True
    )
    return {name for name in listed.stdout.split() if "__pycache__" not in name}


def test_wheel_and_sdist_hold_every_package_file(installed):
    expected = _package_files()
    assert expected, "git lists no package files"
    in_wheel = set(zipfile.ZipFile(installed.wheel).namelist())
    assert expected <= in_wheel, sorted(expected - in_wheel)
    with tarfile.open(installed.sdist) as sdist:
        in_sdist = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert expected <= in_sdist, sorted(expected - in_sdist)


def test_the_installed_copy_is_the_one_running(installed):
    where = _ok(_run(installed.bin / "python", "-c", "import searchsvc; print(searchsvc.__file__)",
                     cwd=installed.root))  # fmt: skip
    assert "site-packages" in where and str(REPO) not in where


@pytest.fixture(scope="module")
def built(installed) -> tuple[Path, Path]:
    corpus = write_corpus(installed.root / "corpus")
    (corpus / "control.txt").write_text("Bell \x07 text\n\nA police \x01 report.\n", "utf-8")
    index = installed.root / "index"
    _ok(installed.cli("reindex", "--corpus", str(corpus), "--index", str(index)))
    return corpus, index


@pytest.mark.parametrize(
    "args", [["--version"], ["--help"], ["reindex", "--help"], ["search", "--help"],
             ["serve", "--help"], ["eval", "--help"]],
)  # fmt: skip
def test_every_command_answers_help(installed, args):
    assert _ok(installed.cli(*args))


def test_search_and_eval_commands(installed, built):
    _, index = built
    assert "police" in _ok(installed.cli("search", "police officer", "--index", str(index))).lower()
    result = json.loads(_ok(installed.cli("search", "cocoa", "--index", str(index), "--json")))
    assert result["hits"][0]["id"] == "wire-1"
    queries, qrels = installed.root / "q.tsv", installed.root / "qrels.txt"
    queries.write_text("1\tcocoa drought\n2\tinterest rates\n", "utf-8")
    qrels.write_text("1 0 wire-1 1\n2 0 wire-2 1\n", "utf-8")
    out = _ok(installed.cli("eval", "--index", str(index), "--queries", str(queries),
                            "--qrels", str(qrels)))  # fmt: skip
    assert "MAP" in out and "1.0000" in out


ROUTES = [
    ("/", "text/html", None),
    ("/search?q=police", "text/html", "<mark>police</mark>"),
    ("/search?q=parliment", "text/html", None),
    ("/api/search?q=police", "application/json", '"total"'),
    ("/api/articles/wire-1", "application/json", "Cocoa"),
    ("/articles/wire-1", "text/html", "Cocoa"),
    ("/api/complete?q=pol", "application/json", "words"),
    ("/api/openapi.json", "application/json", "openapi"),
    ("/healthz", "application/json", "ok"),
    ("/search.atom?q=police", "application/atom+xml", "<feed"),
    ("/search.atom", "application/atom+xml", "<feed"),
    ("/search.csv?q=police", "text/csv", "rank,id"),
    ("/search.jsonl?q=police", "application/x-ndjson", '"rank"'),
    ("/static/style.css", "text/css", None),
    ("/static/app.js", "text/javascript", None),
    ("/static/favicon.svg", "image/svg+xml", None),
]


@pytest.fixture(scope="module")
def server(installed, built):
    corpus, index = built
    port = free_port()
    log = (installed.root / "server.log").open("w")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    process = subprocess.Popen(
        [str(installed.bin / "searchsvc"), "serve", "--index", str(index), "--corpus",
         str(corpus), "--port", str(port), "--workers", "1"],
        cwd=installed.root, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while True:
            try:
                if requests.get(base + "/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            log_text = (installed.root / "server.log").read_text()
            assert process.poll() is None and time.monotonic() < deadline, log_text[-3000:]
            time.sleep(0.2)
        yield base
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        log.close()


@pytest.mark.parametrize(("path", "mimetype", "contains"), ROUTES)
def test_every_route_of_the_installed_server(server, path, mimetype, contains):
    response = requests.get(server + path, timeout=30)
    assert response.status_code == 200, response.text[:500]
    assert response.headers["Content-Type"].split(";")[0] == mimetype
    if contains:
        assert contains in response.text
    if mimetype == "application/atom+xml":
        ET.fromstring(response.content)


@pytest.mark.parametrize(
    ("path", "mimetype"), [("/nope", "text/html"), ("/api/nope", "application/json")]
)
def test_missing_pages_are_404_in_their_shape(server, path, mimetype):
    response = requests.get(server + path, timeout=30)
    assert response.status_code == 404
    assert response.headers["Content-Type"].split(";")[0] == mimetype
