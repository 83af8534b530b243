"""The results over time as an inline SVG bar chart; each bar links to its date range.

Rendered on the server, so it works without JavaScript; only presentation
attributes are used (the Content-Security-Policy forbids inline styles).
"""

from __future__ import annotations

from collections.abc import Callable

from markupsafe import Markup, escape

WIDTH, HEIGHT, AXIS = 640, 72, 16  # viewBox units; the CSS scales the chart to the column
MAX_SLOT = 48  # widest bar, in viewBox units


def timeline_svg(date_facet: dict, link: Callable[[str, str], str]) -> Markup:
    """`date_facet` is facets["date"]; `link(since, until)` gives a bar's URL."""
    buckets = date_facet.get("buckets") or []
    if not buckets:
        return Markup("")
    interval = date_facet.get("interval") or ""
    peak = max(bucket["count"] for bucket in buckets) or 1
    # Few buckets make narrow, centred bars rather than one slab across the column.
    slot = min(WIDTH / len(buckets), MAX_SLOT)
    offset = (WIDTH - slot * len(buckets)) / 2
    gap = min(2.0, slot * 0.15)
    total = sum(bucket["count"] for bucket in buckets)
    label = (
        f"Timeline: {total} dated matching articles by {interval}, "
        f"{buckets[0]['value']} to {buckets[-1]['value']}"
    )
    parts = [
        f'<svg class="timeline" viewBox="0 0 {WIDTH} {HEIGHT + AXIS}" role="group" '
        f'aria-label="{escape(label)}" preserveAspectRatio="none" focusable="false">'
    ]
    for number, bucket in enumerate(buckets):
        count = bucket["count"]
        x = offset + number * slot
        height = 0 if count == 0 else max(2.0, HEIGHT * count / peak)
        tip = f"{bucket['value']}: {count} article{'' if count == 1 else 's'}"
        bar = (
            f'<rect class="hitarea" x="{x:.2f}" y="0" width="{slot:.2f}" height="{HEIGHT}" '
            f'fill="transparent"/>'
            f'<rect class="bar" x="{x + gap / 2:.2f}" y="{HEIGHT - height:.2f}" '
            f'width="{max(slot - gap, 0.5):.2f}" height="{height:.2f}"/>'
        )
        if count:
            href = link(bucket["since"], bucket["until"])
            parts.append(
                f'<a href="{escape(href)}" class="bucket" aria-label="{escape(tip)}">'
                f"<title>{escape(tip)}</title>{bar}</a>"
            )
        else:
            parts.append(f"<g><title>{escape(tip)}</title>{bar}</g>")
    parts.append(f'<line class="axis" x1="0" y1="{HEIGHT}" x2="{WIDTH}" y2="{HEIGHT}"/>')
    parts.append("</svg>")
    first, last = buckets[0]["value"], buckets[-1]["value"]
    centred = " centred" if offset > 0 else ""
    parts.append(
        f'<div class="timeline-axis{centred}"><span>{escape(first)}</span>'
        f"<span>{escape(last) if last != first else ''}</span></div>"
    )
    return Markup("".join(parts))
