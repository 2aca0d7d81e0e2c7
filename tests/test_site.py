"""The documentation site works offline, opened from file:// (issue 16).

`make docs` builds site/ and these tests read what it built: the HTML checks parse every page and
stylesheet; the browser checks open the pages in headless Chromium under file://, with name
resolution off, and watch every request. Without a current built site, Playwright or Chromium they
skip and say what is missing, unless the environment variable CI is set (.ci/run sets it, after
`make docs`): then they fail.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "site"
DOCS = ROOT / "docs"
CHROMIUM = Path("/usr/bin/chromium")
# What the pages load for formulas (docs/hooks/npm_assets.py copies the first three from npm).
KATEX = {
    "script": (
        "assets/katex/dist/katex.min.js",
        "assets/katex/dist/contrib/auto-render.min.js",
        "javascripts/katex.js",
    ),
    "link": ("assets/katex/dist/katex.min.css",),
}
# A page with formulas in each kind: inline, display and \begin{aligned}.
TUTORIAL_PAGE = "tutorial/logistic-regression.html"
# Attributes that make a browser fetch what they name; <a href> is only a link, so not among them.
LOADING = {"src", "srcset", "poster", "data", "background"}
# A <link> that loads nothing: it names a related page.
RELATION_ONLY = {"canonical", "alternate", "prev", "next", "author", "help", "license", "search"}
CSS_URL = re.compile(r"""@import\s+(?:url\()?\s*['"]?([^'")\s;]+)|url\(\s*['"]?([^'")]+)""")


def require(condition: bool, reason: str) -> None:
    """Skip with reason unless condition holds; under CI (env var CI set), fail instead."""
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this fails instead of skipping)")
    pytest.skip(reason)


def require_site() -> None:
    """The built site exists and is newer than every file it is built from (bytecode aside)."""
    index = SITE / "index.html"
    require(index.is_file(), f"no built site at {SITE}: run `make docs` first")
    built = index.stat().st_mtime
    sources = [ROOT / "mkdocs.yml", ROOT / "package-lock.json", *DOCS.rglob("*")]
    newer = [
        str(path.relative_to(ROOT))
        for path in sources
        if path.is_file() and "__pycache__" not in path.parts and path.stat().st_mtime > built
    ]
    require(not newer, f"{SITE} is older than {', '.join(newer[:3])}: run `make docs` again")


class Page(HTMLParser):
    """One built page: its tags with their attributes, and its inline CSS."""

    def __init__(self, path: Path) -> None:
        super().__init__(convert_charrefs=True)
        self.path = path
        self.name = path.relative_to(SITE).as_posix()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.css: list[str] = []
        self.in_style = False
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        self.tags.append((tag, attributes))
        self.css.append(attributes.get("style", ""))
        self.in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self.in_style = self.in_style and tag != "style"

    def handle_data(self, data: str) -> None:
        if self.in_style:
            self.css.append(data)

    def loads(self) -> Iterator[tuple[str, str]]:
        """(tag, URL) for everything the browser fetches to show the page, inline CSS included."""
        for tag, attributes in self.tags:
            for name, value in attributes.items():
                if name in LOADING:
                    urls = (
                        [part.split()[0] for part in value.split(",") if part.strip()]
                        if name == "srcset"
                        else [value]
                    )
                    yield from ((tag, url) for url in urls)
            relations = set(attributes.get("rel", "").lower().split())
            if tag == "link" and not relations <= RELATION_ONLY:
                yield tag, attributes.get("href", "")
            if tag in ("image", "use", "feimage"):  # inline SVG
                yield from ((tag, attributes[name]) for name in ("href", "xlink:href") if name in attributes)
        yield from (("style", url) for css in self.css for url in css_urls(css))

    def references(self) -> Iterator[tuple[str, str]]:
        """(tag, URL) for everything the page loads or links to."""
        yield from self.loads()
        yield from (
            (tag, attributes["href"]) for tag, attributes in self.tags if tag == "a" and "href" in attributes
        )

    def formulas(self) -> int:
        """How many formulas pymdownx.arithmatex marked up here."""
        return sum("arithmatex" in attributes.get("class", "").split() for _, attributes in self.tags)


def css_urls(css: str) -> list[str]:
    """The URLs a piece of CSS imports or loads (fonts, images)."""
    return [imported or loaded for imported, loaded in CSS_URL.findall(css)]


def is_remote(url: str) -> bool:
    """Whether fetching url needs a network (any scheme but data: and blob:, or a //host/ URL)."""
    parts = urlsplit(url.strip())
    return parts.scheme not in ("", "data", "blob") or parts.netloc != ""


def local_target(base: Path, url: str) -> Path | None:
    """The file a relative URL names, seen from the file base; None for data:, #anchor, mailto: URLs."""
    parts = urlsplit(url.strip())
    if parts.scheme or parts.netloc or not parts.path:
        return None
    return (base.parent / unquote(parts.path)).resolve()


@pytest.fixture(scope="module")
def pages() -> list[Page]:
    """Every built HTML file but 404.html: a web server shows that one, with URLs from its root."""
    require_site()
    return [Page(path) for path in sorted(SITE.rglob("*.html")) if path != SITE / "404.html"]


def test_no_page_loads_anything_from_the_network(pages: list[Page]) -> None:
    remote = [f"{page.name}: <{tag}> {url}" for page in pages for tag, url in page.loads() if is_remote(url)]
    assert not remote, "pages load from the network:\n" + "\n".join(remote)


def test_no_stylesheet_loads_anything_from_the_network_and_its_files_exist(pages: list[Page]) -> None:
    stylesheets = sorted(SITE.rglob("*.css"))
    assert any("katex" in path.name for path in stylesheets), "KaTeX's stylesheet is not in the site"
    problems = []
    for path in stylesheets:
        for url in css_urls(path.read_text(encoding="utf-8")):
            target = local_target(path, url)
            if is_remote(url):
                problems.append(f"{path.relative_to(SITE)}: loads {url} from the network")
            elif target is not None and not target.is_file():
                problems.append(f"{path.relative_to(SITE)}: {url} is missing")
    assert not problems, "\n".join(problems)


def test_every_local_link_and_resource_is_a_file_of_the_site(pages: list[Page]) -> None:
    # From file:// a link to a folder opens a directory listing, not a page: each must name a file.
    broken = [
        f"{page.name}: <{tag}> {url}"
        for page in pages
        for tag, url in page.references()
        if (target := local_target(page.path, url)) is not None and not target.is_file()
    ]
    assert not broken, "links and resources that lead nowhere:\n" + "\n".join(broken)


def test_every_page_with_math_loads_the_local_katex(pages: list[Page]) -> None:
    with_math = [page for page in pages if page.formulas()]
    assert TUTORIAL_PAGE in {page.name for page in with_math}, "the formulas are no longer marked up"
    for page in with_math:
        for tag, wanted in ((tag, name) for tag, names in KATEX.items() for name in names):
            targets = {local_target(page.path, url) for loader, url in page.loads() if loader == tag}
            assert (SITE / wanted).resolve() in targets, f"{page.name} does not load {wanted}"
            assert (SITE / wanted).is_file(), f"{wanted} is missing from the site"


def test_the_scripts_in_docs_are_not_published(pages: list[Page]) -> None:
    scripts = [path.relative_to(DOCS) for path in DOCS.rglob("*.py") if "__pycache__" not in path.parts]
    assert scripts, "docs/ has no scripts left to keep out: this test checks nothing"
    published = sorted(path.relative_to(SITE).as_posix() for path in SITE.rglob("*.py"))
    assert not published, f"scripts published as site files: {published}"


def test_the_search_index_is_a_script_and_covers_every_page(pages: list[Page]) -> None:
    # From file:// the browser cannot fetch search_index.json; the offline plugin writes it as a script.
    prefix = "var __index = "
    text = (SITE / "search" / "search_index.js").read_text(encoding="utf-8")
    assert text.startswith(prefix)
    locations = {entry["location"].partition("#")[0] for entry in json.loads(text[len(prefix) :])["docs"]}
    sources = {path.relative_to(DOCS).with_suffix(".html").as_posix() for path in DOCS.rglob("*.md")}
    assert locations == sources, f"pages not indexed: {sources - locations}; not pages: {locations - sources}"
    assert all((SITE / location).is_file() for location in locations)


# --- In a browser -----------------------------------------------------------------------------

# Per page: every formula typeset (a .katex inside each .arithmatex, none an error, none empty),
# no \( or \[ left in the text outside code, and KaTeX's fonts loaded, none failed.
MATH_REPORT = r"""async () => {
  await document.fonts.ready;
  const math = [...document.querySelectorAll(".arithmatex")];
  const fonts = [...document.fonts].filter((face) => face.family.includes("KaTeX"));
  const text = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const raw = [];
  while (text.nextNode()) {
    const node = text.currentNode;
    if (/\\[(\[]/.test(node.data) && !node.parentElement.closest("pre, code, script, style, .katex")) {
      raw.push(node.data.trim().slice(0, 60));
    }
  }
  return {
    formulas: math.length,
    untypeset: math.filter((e) => !e.querySelector(".katex")).map((e) => e.textContent.slice(0, 60)),
    errors: [...document.querySelectorAll(".katex-error")].map((e) => e.title),
    empty: math.filter((e) => {
      const box = e.querySelector(".katex")?.getBoundingClientRect();
      return box && (box.width === 0 || box.height === 0);
    }).length,
    raw,
    fontsLoaded: fonts.filter((face) => face.status === "loaded").map((face) => face.family),
    fontsFailed: fonts.filter((face) => face.status === "error").map((face) => face.family),
  };
}"""


@pytest.fixture(scope="module")
def browser_context() -> Iterator[tuple[Any, list[str]]]:
    """A Chromium context without name resolution, and the list of requests that left file://."""
    require_site()
    require(CHROMIUM.is_file(), f"no Chromium at {CHROMIUM}: install it (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "Playwright is not installed: pip install -e '.[dev]'")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND"]
        )
        context = browser.new_context(viewport={"width": 1280, "height": 720})
        outside: list[str] = []
        context.on("request", lambda request: outside.append(request.url) if not local(request.url) else None)
        # Leaving a page aborts its pending requests (the favicon): only a request that found nothing fails.
        context.on("requestfailed", lambda request: failed(request, outside))
        yield context, outside
        browser.close()


def local(url: str) -> bool:
    """Whether the browser's request stays on this machine."""
    return urlsplit(url).scheme in ("file", "data", "blob", "about")


def failed(request: Any, problems: list[str]) -> None:
    """Note a request that failed for any reason but the page being left."""
    if request.failure != "net::ERR_ABORTED":
        problems.append(f"failed: {request.url} ({request.failure})")


@pytest.mark.slow
def test_every_page_opens_offline_with_its_formulas_typeset(
    pages: list[Page], browser_context: tuple[Any, list[str]]
) -> None:
    context, outside = browser_context
    page = context.new_page()
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    problems = {}
    for built in pages:
        outside.clear()
        script_errors.clear()
        page.goto(built.path.as_uri())
        report = page.evaluate(MATH_REPORT)
        found = {
            "requests outside file:// or failed": outside[:],
            "script errors": script_errors[:],
            "formulas not typeset": report["untypeset"],
            "KaTeX errors": report["errors"],
            "formulas of zero size": report["empty"],
            "TeX left in the text": report["raw"],
            "KaTeX fonts failed": report["fontsFailed"],
            "no KaTeX font loaded": report["formulas"] > 0 and not report["fontsLoaded"],
        }
        if any(found.values()):
            problems[built.name] = {what: value for what, value in found.items() if value}
    page.close()
    assert not problems, json.dumps(problems, indent=1)


@pytest.mark.slow
def test_search_finds_a_page_offline_and_typesets_its_formulas(
    browser_context: tuple[Any, list[str]],
) -> None:
    context, outside = browser_context
    outside.clear()
    page = context.new_page()
    page.goto((SITE / "index.html").as_uri())
    page.fill("input.md-search__input", "broadcasting")
    page.wait_for_selector(".md-search-result__item a", timeout=15_000)
    found = page.eval_on_selector_all(".md-search-result__item a", "links => links.map((a) => a.href)")
    previews = page.eval_on_selector(".md-search-result", "list => list.innerText")
    typeset = page.eval_on_selector_all(".md-search-result .katex", "formulas => formulas.length")
    page.close()
    pages = {Path(unquote(urlsplit(url).path)) for url in found}
    assert (SITE / "tutorial" / "broadcasting.html") in pages, f"search for 'broadcasting' found {found}"
    assert all(path.is_file() for path in pages), f"search results lead nowhere: {found}"
    # The broadcasting lesson's sections have formulas: the previews show them typeset, not as TeX.
    assert typeset > 0 and not re.search(r"\\[(\[]", previews), previews[:2000]
    assert not outside, f"requests outside file://: {outside}"
