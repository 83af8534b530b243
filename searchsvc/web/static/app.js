// Progressive enhancement only: the pages work without this file.
"use strict";

// "/" focuses the search box from anywhere but a text field.
document.addEventListener("keydown", (event) => {
  const box = document.getElementById("q");
  if (!box || event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName)) return;
  event.preventDefault();
  box.focus();
  box.select();
});

// Loading state: say so while the next page is on its way.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const status = form.querySelector(".loading");
  if (status) status.textContent = "Searching…";
  document.getElementById("main")?.setAttribute("aria-busy", "true");
});
window.addEventListener("pageshow", () => {
  document.getElementById("main")?.removeAttribute("aria-busy");
  document.querySelectorAll(".loading").forEach((el) => { el.textContent = ""; });
});

// Search as you type: word completions and matching headlines under the box.
(() => {
  const form = document.querySelector("form.searchbox[data-complete]");
  const box = document.getElementById("q");
  const panel = document.getElementById("completions");
  if (!form || !box || !panel || !window.fetch) return;
  let timer = 0;
  let asked = "";
  let controller = null;

  const hide = () => { panel.hidden = true; panel.replaceChildren(); };
  const links = () => Array.from(panel.querySelectorAll("a"));

  const group = (title, items, make) => {
    if (!items.length) return null;
    const wrap = document.createElement("div");
    const heading = document.createElement("div");
    heading.className = "group";
    heading.textContent = title;
    const list = document.createElement("ul");
    items.forEach((item) => {
      const li = document.createElement("li");
      li.appendChild(make(item));
      list.appendChild(li);
    });
    wrap.append(heading, list);
    return wrap;
  };

  const show = (data) => {
    if (data.query !== box.value.trim().replace(/\s+/g, " ")) return;
    const words = group("Search for", data.words || [], (text) => {
      const a = document.createElement("a");
      a.className = "word";
      a.href = form.action + "?q=" + encodeURIComponent(text);
      a.textContent = text;
      return a;
    });
    const headlines = group("Articles", data.headlines || [], (item) => {
      const a = document.createElement("a");
      a.href = item.url;
      a.textContent = item.title;
      return a;
    });
    panel.replaceChildren(...[words, headlines].filter(Boolean));
    panel.hidden = !panel.childElementCount;
  };

  box.addEventListener("input", () => {
    clearTimeout(timer);
    const text = box.value;
    if (text.trim().length < 2) { hide(); return; }
    timer = setTimeout(() => {
      if (text === asked) return;
      asked = text;
      if (controller) controller.abort();
      controller = new AbortController();
      fetch(form.dataset.complete + "?q=" + encodeURIComponent(text), { signal: controller.signal })
        .then((r) => (r.ok ? r.json() : null))
        .then((data) => { if (data) show(data); })
        .catch(() => {});
    }, 120);
  });

  box.addEventListener("keydown", (event) => {
    const all = links();
    if (event.key === "Escape") { hide(); return; }
    if (event.key === "ArrowDown" && all.length) { event.preventDefault(); all[0].focus(); }
  });
  panel.addEventListener("keydown", (event) => {
    const all = links();
    const at = all.indexOf(document.activeElement);
    if (event.key === "ArrowDown" && at < all.length - 1) { event.preventDefault(); all[at + 1].focus(); }
    if (event.key === "ArrowUp") { event.preventDefault(); (at > 0 ? all[at - 1] : box).focus(); }
    if (event.key === "Escape") { hide(); box.focus(); }
  });
  document.addEventListener("click", (event) => {
    if (!form.contains(event.target)) hide();
  });
})();

// Filters on a phone: open and close in place, keeping the state in the URL as the
// link without this script would (facet links carry `filters=open` on).
(() => {
  const toggle = document.querySelector(".filters-toggle a");
  if (!toggle) return;
  toggle.addEventListener("click", (event) => {
    event.preventDefault();
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    toggle.textContent = open ? "Hide filters" : "Filters";
    toggle.getAttribute("aria-controls").split(" ").forEach((id) => {
      document.getElementById(id)?.classList.toggle("phone-closed", !open);
    });
    const url = new URL(window.location.href);
    if (open) url.searchParams.set("filters", "open"); else url.searchParams.delete("filters");
    history.replaceState(null, "", url);
    document.querySelectorAll(".facet a, .chips a, .pager a, svg.timeline a").forEach((a) => {
      const href = a.getAttribute("href") || a.getAttribute("xlink:href");
      if (!href) return;
      const target = new URL(href, window.location.href);
      if (open) target.searchParams.set("filters", "open"); else target.searchParams.delete("filters");
      a.setAttribute("href", target.pathname + target.search);
    });
  });
})();

// An article opened from a result: Previous / Next and the n / p keys step through its
// matches. Without this script the matches are marked and the paragraph links still work.
(() => {
  const bar = document.querySelector(".matches");
  const step = bar?.querySelector(".match-step");
  const marks = Array.from(document.querySelectorAll(".article h1 mark, .article p[id] mark"));
  if (!step || !marks.length) return;
  const at = step.querySelector(".match-at");
  let current = -1;

  const select = (index, scroll) => {
    marks[current]?.classList.remove("current");
    current = (index + marks.length) % marks.length;
    const mark = marks[current];
    mark.classList.add("current");
    at.textContent = `Match ${current + 1} of ${marks.length}`;
    if (scroll) mark.scrollIntoView({ block: "center" });
  };
  const onScreen = (element) => {
    const box = element.getBoundingClientRect();
    return box.top >= 0 && box.bottom <= window.innerHeight;
  };

  step.hidden = false;
  step.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-step]");
    if (button) select(current + Number(button.dataset.step), true);
  });
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || !["n", "p"].includes(event.key)) return;
    const target = event.target;
    if (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName)) return;
    event.preventDefault();
    select(current + (event.key === "n" ? 1 : -1), true);
  });

  // The first match: in the paragraph the link named (the browser has scrolled there), or
  // the first of the page, brought into view when it is not.
  const named = window.location.hash && document.getElementById(window.location.hash.slice(1));
  const first = named ? marks.findIndex((mark) => named.contains(mark)) : -1;
  if (first >= 0) select(first, false);
  else select(0, !onScreen(marks[0]));
})();
