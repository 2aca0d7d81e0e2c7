// KaTeX typesets the formulas that pymdownx.arithmatex (generic mode) wraps in \( \) and \[ \].
// Only those elements are searched, so a dollar sign or backslash in code or prose stays text.
const delimiters = [
  { left: "\\(", right: "\\)", display: false },
  { left: "\\[", right: "\\]", display: true },
];
// A formula KaTeX cannot read shows in red with the reason, instead of stopping the page.
const typeset = (element, options) => renderMathInElement(element, { delimiters, throwOnError: false, ...options });

// Material for MkDocs emits document$ for every page it shows.
document$.subscribe(() => {
  for (const element of document.querySelectorAll(".arithmatex")) {
    typeset(element);
  }
});

// Search shows each section's text, formulas included, as the raw TeX: typeset the results as they
// arrive, all inline so a preview stays a few lines. (Typesetting changes the list too; the second
// call finds nothing left to do.) A formula cut by a search highlight stays TeX.
const results = document.querySelector(".md-search-result__list");
if (results) {
  const inline = delimiters.map((delimiter) => ({ ...delimiter, display: false }));
  new MutationObserver(() => typeset(results, { delimiters: inline })).observe(results, {
    childList: true,
    subtree: true,
  });
}
