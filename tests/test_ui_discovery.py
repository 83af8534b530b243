"""The search page's discovery parts as HTML: suggestions, fallbacks, facets, timeline."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from bs4 import BeautifulSoup


def page(client, url: str) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def params(href: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(href).query).items()}


def test_no_inline_styles_or_scripts(discovery_client):
    for url in ["/", "/search?q=oil", "/search?q=parliment", "/articles/gov-0", "/search?q=zzzz"]:
        soup = page(discovery_client, url)
        assert not soup.find_all(style=True), url
        assert all(script.get("src") for script in soup.find_all("script")), url


def test_fallback_results_are_labelled(discovery_client):
    soup = page(discovery_client, "/search?q=parliment")
    notice = soup.select_one(".notice.fallback")
    assert notice is not None
    assert "No articles found for parliment" in " ".join(notice.get_text().split())
    link = notice.select_one("a.suggestion")
    assert params(link["href"])["q"] == "parliament"
    assert len(soup.select(".hit")) == 4  # the corrected query's results (3 + London)
    assert soup.select_one(".hit mark").get_text().lower() == "parliament"


def test_did_you_mean_when_something_matched(discovery_client):
    soup = page(discovery_client, "/search?q=oil+goverment")
    assert soup.select(".hit")  # "oil" found articles: no fallback
    assert soup.select_one(".notice.fallback") is None
    assert params(soup.select_one("a.suggestion")["href"])["q"] == "oil government"


def test_last_word_as_prefix_when_nothing_matched(discovery_client):
    soup = page(discovery_client, "/search?q=petrol")
    assert "petrol*" in soup.select_one(".notice.fallback").get_text()
    assert soup.select(".hit")


def test_facets_are_links_that_combine(discovery_client):
    soup = page(discovery_client, "/search?q=oil&since=1987-03")
    source = soup.select_one('.facet a[href*="source=AP"]')
    assert source is not None
    chosen = params(source["href"])
    assert chosen == {"q": "oil", "since": "1987-03", "source": "AP"}
    narrowed = page(discovery_client, source["href"])
    assert narrowed.select_one(".facet a.active")["aria-current"] == "true"
    topic = next(a for a in narrowed.select(".facet a") if "ship" in a.get_text())
    both = params(topic["href"])
    assert both["q"] == "oil topic:ship" and both["source"] == "AP"
    final = page(discovery_client, topic["href"])
    hits = final.select(".hit")
    assert hits and all(h.select_one(".source").get_text() == "AP" for h in hits)
    chips = [a.get_text(" ", strip=True) for a in final.select(".chips a")]
    assert any(c.startswith("Source: AP") for c in chips)
    assert any(c.startswith("Topic: ship") for c in chips)
    removal = next(a for a in final.select(".chips a") if "Topic" in a.get_text())
    assert params(removal["href"])["q"] == "oil"


def test_timeline_bars_narrow_the_dates(discovery_client):
    soup = page(discovery_client, "/search?q=oil")
    svg = soup.select_one("svg.timeline")
    assert svg is not None and svg["role"] == "group" and "month" in svg["aria-label"]
    bars = svg.select("a.bucket")
    assert len(bars) == 12
    first = params(bars[0]["href"])
    assert first == {"q": "oil", "since": "1987-01-01", "until": "1987-01-31"}
    narrowed = page(discovery_client, bars[0]["href"])
    dates = [t["datetime"] for t in narrowed.select(".hit time")]
    assert dates and all(d.startswith("1987-01") for d in dates)


def test_pages_keep_query_and_filters(discovery_client):
    soup = page(discovery_client, "/search?q=oil&source=reuters&size=3")
    next_link = soup.select_one('.pager a[rel="next"]')
    assert params(next_link["href"]) == {"q": "oil", "source": "reuters", "size": "3", "page": "2"}
    exports = {a.get_text(): a["href"] for a in soup.select(".exports a")}
    assert set(exports) == {"Atom feed", "CSV", "JSON Lines"}
    assert params(exports["CSV"])["source"] == "reuters"


def test_article_page_lists_related(discovery_client):
    soup = page(discovery_client, "/articles/gov-0?q=parliament")
    links = soup.select(".related a")
    assert links and all(a["href"].startswith("/articles/gov-") for a in links[:2])
    assert params(links[0]["href"]) == {"q": "parliament"}


def test_empty_state_offers_to_drop_filters(discovery_client):
    soup = page(discovery_client, "/search?q=oil&since=2001")
    assert "No articles found" in soup.select_one(".summary").get_text()
    drop = soup.select_one(".empty a")
    assert params(drop["href"]) == {"q": "oil"}


def test_timeline_svg_unit():
    from searchsvc.engine.embedded.facets import date_buckets
    from searchsvc.web.timeline import MAX_SLOT, WIDTH, timeline_svg

    assert timeline_svg({"interval": None, "buckets": []}, lambda a, b: "") == ""
    from datetime import date

    facet = date_buckets([date(1987, 3, 1), date(1987, 3, 1), date(1987, 3, 4)])
    svg = BeautifulSoup(str(timeline_svg(facet, lambda a, b: f"/s?x=1&since={a}")), "html.parser")
    links = svg.select("a.bucket")
    assert [a["href"] for a in links] == ["/s?x=1&since=1987-03-01", "/s?x=1&since=1987-03-04"]
    assert len(svg.select("g rect.bar")) == 2  # empty days drawn, not linked
    heights = [float(r["height"]) for r in svg.select("a.bucket rect.bar")]
    assert heights[0] == 2 * heights[1]
    first = svg.select_one("rect.hitarea")
    assert float(first["width"]) == MAX_SLOT and float(first["x"]) == (WIDTH - 4 * MAX_SLOT) / 2
    assert "centred" in svg.select_one(".timeline-axis")["class"]


def test_filters_control_keeps_its_state_in_the_url(discovery_client):
    closed = BeautifulSoup(discovery_client.get("/search?q=oil").data, "html.parser")
    toggle = closed.select_one(".filters-toggle a")
    assert toggle["aria-expanded"] == "false" and "filters=open" in toggle["href"]
    assert "phone-closed" in closed.select_one("#facets")["class"]
    assert "phone-closed" in closed.select_one("#chart")["class"]
    assert not any("filters=open" in a["href"] for a in closed.select(".facet a"))

    opened = BeautifulSoup(discovery_client.get(toggle["href"]).data, "html.parser")
    toggle = opened.select_one(".filters-toggle a")
    assert toggle["aria-expanded"] == "true" and "filters=" not in toggle["href"]
    assert "phone-closed" not in opened.select_one("#facets")["class"]
    assert all("filters=open" in a["href"] for a in opened.select(".facet a, .pager a"))
