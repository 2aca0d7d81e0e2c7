"""A mkdocs hook: the browser libraries that `npm ci` installs into node_modules/ become part of the site.

So the site needs no network, from file:// too: KaTeX typesets the formulas, and iframe-worker lets
search run its worker where browsers refuse a Worker from a file:// URL. Each file keeps its path
inside its package, under assets/: node_modules/katex/dist/katex.min.js is assets/katex/dist/katex.min.js,
the name mkdocs.yml gives it.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

# package -> its files the site needs (a name ending in / is a folder): what the pages load,
# what those load in turn (KaTeX's stylesheet loads its fonts), and the licence.
ASSETS = {
    "katex": (
        "dist/katex.min.js",
        "dist/katex.min.css",
        "dist/contrib/auto-render.min.js",
        "dist/fonts/",
        "LICENSE",
    ),
    "iframe-worker": ("shim/index.js", "LICENSE"),
}


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add every file of ASSETS, from node_modules/, to the site's files."""
    node_modules = Path(config.config_file_path).parent / "node_modules"
    for package, names in ASSETS.items():
        for name in names:
            source = node_modules / package / name
            if not source.exists():
                raise PluginError(
                    f"{source} is missing: the npm packages are not installed. "
                    "Run `npm ci` in the project root (`make docs` does)."
                )
            for path in sorted(source.iterdir()) if source.is_dir() else [source]:
                uri = f"assets/{package}/{path.relative_to(node_modules / package).as_posix()}"
                files.append(File.generated(config, uri, abs_src_path=str(path)))
    return files
