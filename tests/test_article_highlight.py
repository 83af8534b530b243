"""Snippets and the articles they come from: each snippet names its paragraph."""

from __future__ import annotations

import html

import pytest


def unmarked(marked_html: str) -> str:
    return html.unescape(marked_html.replace("<mark>", "").replace("</mark>", ""))


QUERIES = ["oil prices", "petroleum market", "parliment", '"crude oil"', "government -parliament",
           "parliam*", "title:parliament", "Rotterdam OR Lagos", "NOT oil",
           "AND OR NOT"]  # fmt: skip


@pytest.mark.parametrize("q", QUERIES)
def test_each_snippet_names_its_paragraph(discovery_client, q):
    body = discovery_client.get("/api/search", query_string={"q": q, "size": 5}).get_json()
    assert body["hits"], q
    for hit in body["hits"]:
        article = discovery_client.get("/api" + hit["url"]).get_json()
        assert len(hit["snippet_paragraphs"]) == len(hit["snippets"])
        for number, snippet in zip(hit["snippet_paragraphs"], hit["snippets"], strict=True):
            assert unmarked(snippet).strip("…") in article["paragraphs"][number]
