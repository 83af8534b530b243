"""The UI driven as a person would, in headless Chromium: desktop and phone viewports.

Starts the real server (`python -m searchsvc serve`) over a small corpus, on each
engine in turn (conftest `engine`), and saves screenshots under test-artifacts/
(git-ignored).
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("SEARCHSVC_CHROMIUM", "/usr/bin/chromium"))
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is not installed; the browser tests need it", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")

from conftest import write_corpus  # noqa: E402
from discovery_corpus import discovery_records  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def _serving(root: Path, built):
    """The real server over a built corpus (conftest.Built), on a free port, until the block
    ends; the engine and its index are named in the environment."""
    log_path = root / "server.log"
    port = _free_port()
    command = [sys.executable, "-m", "searchsvc", "serve", "--corpus", str(built.corpus)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--threads", "4"]
    log = log_path.open("wb")
    env = {**os.environ, **built.target.env}
    process = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            log.close()
            output = log_path.read_text(errors="replace")
            pytest.fail(f"server did not start:\n{output[-2000:]}")
        time.sleep(0.2)
    try:
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _discovery_corpus(folder: Path) -> Path:
    return write_corpus(folder, jsonl_records=discovery_records())


@pytest.fixture(scope="module")
def server(engine, tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    built = engine.built("discovery", _discovery_corpus)
    with _serving(root, built) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield launched
        launched.close()


@pytest.fixture(params=list(VIEWPORTS))
def page(request, browser):
    context = browser.new_context(**VIEWPORTS[request.param])
    context.set_default_timeout(10_000)
    tab = context.new_page()
    problems: list[str] = []
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems.append(str(e)))
    tab.viewport_name = request.param
    tab.problems = problems
    yield tab
    context.close()
    # A CSP violation or a script error shows up here.
    assert not problems, problems


def shot(page, name: str, full_page: bool = True) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{page.viewport_name}-{name}.png"
    page.screenshot(path=str(path), full_page=full_page)


def expect(locator):
    return sync_api.expect(locator)


def test_search_facets_timeline_and_pages(server, page):
    page.goto(server + "/")
    shot(page, "home")
    page.locator("h1, .welcome p").first.click()  # move focus off the autofocused box
    page.keyboard.press("/")
    expect(page.locator("#q")).to_be_focused()

    page.keyboard.type("oil pri", delay=40)
    panel = page.locator("#completions")
    expect(panel).to_be_visible()
    expect(panel.locator("a.word").first).to_have_text(re.compile(r"^oil pric"))
    shot(page, "typing")
    page.locator("#q").fill("oil prices")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"q=oil\+prices"))
    expect(page.locator(".summary")).to_contain_text("24 stories")
    expect(page.locator(".hit mark").first).to_have_text(re.compile("oil", re.I))
    expect(page.locator("svg.timeline a.bucket")).to_have_count(12)
    shot(page, "results")

    if page.viewport_name == "phone":
        expect(page.locator(".facets")).to_be_hidden()
        page.locator(".filters-toggle a").click()
    page.locator(".facet a", has_text="AP").click()
    page.wait_for_url(re.compile(r"source=AP"))
    expect(page.locator(".summary")).to_contain_text("8 stories")
    sources = page.locator(".hit .source").all_text_contents()
    assert sources and set(sources) == {"AP"}

    page.locator("svg.timeline a.bucket").first.click()
    page.wait_for_url(re.compile(r"since=1987-\d\d-01&until=1987-\d\d-\d\d"))
    dates = page.locator(".hit time").all_text_contents()
    month = re.search(r"since=(1987-\d\d)", page.url).group(1)
    assert dates and all(d.startswith(month) for d in dates)
    expect(page.locator(".chips a", has_text="Source: AP")).to_be_visible()
    shot(page, "narrowed")

    page.goto(server + "/search?q=oil")
    page.locator('.pager a[rel="next"]').click()
    page.wait_for_url(re.compile(r"page=2"))
    expect(page.locator("ol.hits")).to_have_attribute("start", "11")
    expect(page.locator(".pager")).to_contain_text("Page 2 of 3")


def test_article_related_and_suggestion(server, page):
    page.goto(server + "/search?q=parliment")
    notice = page.locator(".notice.fallback")
    expect(notice).to_contain_text("No articles found for parliment")
    expect(notice).to_contain_text("Showing results for parliament instead")
    shot(page, "fallback")
    notice.locator("a.suggestion").click()
    page.wait_for_url(re.compile(r"q=parliament"))
    expect(page.locator(".notice")).to_have_count(0)

    page.locator(".hit h2 a").first.click()
    page.wait_for_url(re.compile(r"/articles/"))
    first_title = page.locator("h1").text_content()
    related = page.locator(".related a")
    expect(related.first).to_be_visible()
    shot(page, "article")
    related.first.click()
    page.wait_for_url(re.compile(r"/articles/gov-"))
    assert page.locator("h1").text_content() != first_title
    expect(page.locator(".related")).to_be_visible()

    page.goto(server + "/search?q=zzzzqq")
    expect(page.locator(".empty")).to_contain_text("Try fewer or different words")
    shot(page, "empty")


def test_results_come_first_and_filters_open_on_demand(server, page):
    """On a phone the facets wait behind one Filters control; the first result is on screen."""
    page.goto(server + "/search?q=oil+prices")
    height = page.viewport_size["height"]
    headline = page.locator(".hit h2").first.bounding_box()
    snippet = page.locator(".hit .snippet").first.bounding_box()
    assert headline["y"] + headline["height"] < height / 2, headline
    assert snippet["y"] < height, snippet
    toggle = page.locator(".filters-toggle a")
    if page.viewport_name == "desktop":
        expect(toggle).to_be_hidden()
        expect(page.locator(".facets")).to_be_visible()
        return
    expect(page.locator(".facets")).to_be_hidden()
    expect(page.locator("#chart")).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(page.locator(".facets")).to_be_visible()
    expect(page.locator("#chart")).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    assert "filters=open" in page.url
    shot(page, "filters-open")
    # The state is in the URL: a facet link keeps the panel open on the next page.
    page.locator(".facet a", has_text="AP").click()
    page.wait_for_url(re.compile(r"source=AP"))
    expect(page.locator(".facets")).to_be_visible()
    page.reload()
    expect(page.locator(".facets")).to_be_visible()


def test_filters_open_and_close_without_javascript(server, browser):
    context = browser.new_context(java_script_enabled=False, **VIEWPORTS["phone"])
    try:
        tab = context.new_page()
        tab.goto(server + "/search?q=oil+prices")
        expect(tab.locator(".facets")).to_be_hidden()
        tab.locator(".filters-toggle a").click()
        tab.wait_for_url(re.compile(r"filters=open"))
        expect(tab.locator(".facets")).to_be_visible()
        tab.locator(".filters-toggle a").click()
        tab.wait_for_url(re.compile(r"^(?!.*filters=open)"))
        expect(tab.locator(".facets")).to_be_hidden()
    finally:
        context.close()


def _harbour_records() -> list[dict]:
    """One long article whose matches are far apart, and a short one that matches too."""
    paragraphs = [
        f"Note {n} from the harbour office: the weather, the cargo lists and the pilots' rota "
        f"for week {n}, as the port clerks record them every morning before the gates open."
        for n in range(40)
    ]
    for number in STRIKE_PARAGRAPHS:
        paragraphs[number] += " Dockers voted for a tanker strike; the strike starts on Monday."
    return [
        {"id": "harbour-long", "title": "Harbour notes for the season", "date": "1987-05-01",
         "source": "Gazette", "body": "\n\n".join(paragraphs)},
        {"id": "harbour-short", "title": "Tanker strike called", "date": "1987-05-02",
         "source": "Reuters", "body": "Dockers called a tanker strike at the harbour."},
    ]  # fmt: skip


STRIKE_PARAGRAPHS = (12, 20, 33)


def _harbour_corpus(folder: Path) -> Path:
    return write_corpus(folder, text_articles={}, jsonl_records=_harbour_records())


@pytest.fixture(scope="module")
def harbour(engine, tmp_path_factory):
    """A server over a long article: opening one of its matches takes some scrolling."""
    root = tmp_path_factory.mktemp("harbour")
    built = engine.built("harbour", _harbour_corpus)
    with _serving(root, built) as base:
        yield base


def _current_match(page):
    """(paragraph id, text) of the match Previous / Next / n / p last moved to."""
    current = page.locator("mark.current")
    expect(current).to_have_count(1)
    expect(current).to_be_in_viewport()
    return current.evaluate(
        "m => { const at = m.closest('p[id], h1'); return [at.id || 'h1', m.textContent]; }"
    )


def test_article_opens_at_its_match_and_steps_through_them(harbour, page):
    page.goto(harbour + "/search?q=tanker+strike")
    hit = page.locator(".hit", has_text="Harbour notes")
    links = hit.locator(".snippet a")
    expect(links).to_have_count(3)
    hrefs = [links.nth(n).get_attribute("href") for n in range(3)]
    assert [h.rsplit("#", 1)[1] for h in hrefs] == [f"p-{n}" for n in STRIKE_PARAGRAPHS]
    links.nth(1).click()
    page.wait_for_url(re.compile(r"/articles/harbour-long\?q=tanker(\+|%20)strike#p-20$"))
    paragraph = page.locator("#p-20")
    expect(paragraph).to_be_in_viewport()
    bar = page.locator("nav.matches").bounding_box()
    assert paragraph.bounding_box()["y"] >= bar["y"] + bar["height"] - 1  # not under the bar
    expect(paragraph.locator("mark")).to_have_count(3)  # tanker, strike, strike
    assert _current_match(page) == ["p-20", "tanker"]
    expect(page.locator(".match-at")).to_have_text("Match 4 of 9")
    expect(page.locator("#p-0")).not_to_be_in_viewport()
    shot(page, "article-matches", full_page=False)  # what the reader sees on arrival

    page.keyboard.press("n")
    assert _current_match(page) == ["p-20", "strike"]
    for _ in range(2):
        page.keyboard.press("n")
    assert _current_match(page) == ["p-33", "tanker"]
    expect(page.locator("#p-20")).not_to_be_in_viewport()
    page.keyboard.press("p")
    assert _current_match(page) == ["p-20", "strike"]
    expect(page.locator(".match-at")).to_have_text("Match 6 of 9")

    # The buttons do the same, from the keyboard too; they stay in view as the page scrolls.
    previous = page.get_by_role("button", name="Previous match")
    previous.focus()
    page.keyboard.press("Enter")
    assert _current_match(page) == ["p-20", "strike"]
    expect(page.locator(".match-at")).to_have_text("Match 5 of 9")
    for _ in range(5):
        page.get_by_role("button", name="Next match").click()
    assert _current_match(page) == ["p-12", "tanker"]  # past the last, back to the first
    expect(previous).to_be_in_viewport()


def test_article_from_a_headline_jumps_to_the_first_match(harbour, page):
    page.goto(harbour + "/search?q=tanker+strike")
    page.locator(".hit h2 a", has_text="Harbour notes").click()
    page.wait_for_url(re.compile(r"/articles/harbour-long\?q=[^#]*$"))
    assert _current_match(page) == ["p-12", "tanker"]
    expect(page.locator(".match-at")).to_have_text("Match 1 of 9")


def test_article_matches_without_javascript(harbour, browser):
    context = browser.new_context(java_script_enabled=False, **VIEWPORTS["phone"])
    try:
        tab = context.new_page()
        tab.goto(harbour + "/search?q=tanker+strike")
        tab.locator(".hit", has_text="Harbour notes").locator(".snippet a").nth(2).click()
        tab.wait_for_url(re.compile(r"#p-33$"))
        expect(tab.locator("#p-33")).to_be_in_viewport()
        expect(tab.locator("#p-33 mark").first).to_have_text("tanker")
        expect(tab.locator(".match-step")).to_be_hidden()  # its buttons need the script
        # The paragraph links in the bar are the way between matches without it.
        bar = tab.locator("nav.matches")
        expect(bar).to_contain_text("9 matches for tanker strike in paragraphs 13, 21, 34")
        bar.get_by_role("link", name="13").click()
        tab.wait_for_url(re.compile(r"#p-12$"))
        expect(tab.locator("#p-12")).to_be_in_viewport()
    finally:
        context.close()


AXE = REPO / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
AUDITED = {
    "search": "/",
    "results": "/search?q=oil+prices&filters=open",
    "article": "/articles/oil-01?q=oil+prices",
    "error": "/articles/no-such-article",
}


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("name", list(AUDITED))
def test_no_serious_accessibility_violations(engine, server, browser, viewport, name):
    if engine.name != "whoosh":
        # The pages are the same templates over the same results on both engines (the
        # other tests here, and test_web_pages.py, check that): audited once, to save time.
        pytest.skip("the markup does not depend on the engine; audited on whoosh")
    if not AXE.exists():
        pytest.skip(f"{AXE} is missing: `npm ci --prefix tests/browser` installs axe-core")
    # axe is injected as an inline script, which the pages' CSP would (rightly) refuse.
    context = browser.new_context(bypass_csp=True, **VIEWPORTS[viewport])
    try:
        tab = context.new_page()
        tab.viewport_name = viewport
        tab.goto(server + AUDITED[name])
        tab.add_script_tag(content=AXE.read_text(encoding="utf-8"))
        result = tab.evaluate("axe.run(document, {resultTypes: ['violations']})")
        shot(tab, f"axe-{name}")
    finally:
        context.close()
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not serious, serious


STORY = (
    "The harbour board raised mooring fees for tankers by a fifth on Monday, saying the new "
    "quay and the dredging of the channel had to be paid for before the winter storms came."
)


def _stories_corpus(folder: Path) -> Path:
    records = [
        {"id": "fees-1", "title": "Harbour board raises mooring fees", "body": STORY,
         "date": "1987-03-02T09:00:00"},
        {"id": "fees-2", "title": "Harbour board raises mooring fees (corrected)",
         "body": STORY.replace("on Monday", "on Monday afternoon"), "date": "1987-03-02T11:00:00"},
        {"id": "grain", "title": "Grain ships wait at the harbour", "date": "1987-03-03",
         "body": "Grain ships waited outside the harbour as fog closed the channel."},
    ]  # fmt: skip
    return write_corpus(folder, text_articles={}, jsonl_records=records)


@pytest.fixture(scope="module")
def stories(engine, tmp_path_factory):
    """A server over a story sent twice (a correction) and one other article."""
    root = tmp_path_factory.mktemp("stories")
    with _serving(root, engine.built("stories", _stories_corpus)) as base:
        yield base


def test_a_story_is_one_hit_whose_versions_open_on_the_page(stories, page):
    page.goto(stories + "/search?q=harbour+fees")
    # Counted: those with both words, a story once; listed: the grain ships after it.
    expect(page.locator(".summary")).to_contain_text("1 story")
    expect(page.locator("li.hit")).to_have_count(2)
    versions = page.locator("details.versions")
    expect(versions).to_have_count(1)
    other = versions.locator("li a")
    expect(other).not_to_be_visible()
    versions.locator("summary").click()  # opens without script too: it is a <details>
    expect(other).to_be_visible()
    expect(other).to_have_count(1)
    shot(page, "story-versions")
    page.locator("a.fold", has_text="Show every version").click()
    page.wait_for_url(re.compile(r"collapse=false"))
    expect(page.locator(".summary")).to_contain_text("2 articles")
    expect(page.locator("li.hit")).to_have_count(3)
    expect(page.locator("details.versions")).to_have_count(0)
    page.locator("a.fold", has_text="One hit per story").click()
    expect(page.locator("li.hit")).to_have_count(2)
