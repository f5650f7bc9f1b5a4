"""axe-core (vendored under tests/e2e/axe/) run in the page under test: the accessibility audit of the browser
suite. It is evaluated from the test process through the browser's devtools protocol, so the app serves nothing
new and its Content-Security-Policy (no inline scripts) stays as strict as it is."""
from __future__ import annotations

from pathlib import Path

AXE_JS = Path(__file__).resolve().parent / "axe" / "axe.min.js"
#: what the suite fails on; moderate and minor findings are reported but do not fail a page
FAILING = ("serious", "critical")
_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"],
                                          runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                                                           "wcag22aa", "best-practice"]}});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                      nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " :: " + n.failureSummary)}));
}"""


def audit(page) -> list[dict]:
    """The page's axe-core violations (id, impact, help, the first few nodes)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8") + "\n;undefined")
    return page.evaluate(_RUN)


def failing(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in FAILING]
