"""axe-core in the browser tests: run it on the page as it is now and fail on serious or critical violations."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from playwright.sync_api import Page

# Pinned in tools/node/package.json, installed by `make node-tools` (part of `make test`).
AXE_SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "node" / "node_modules" / "axe-core" / "axe.min.js"
AXE_ROUTE = "/__test__/axe.min.js"
BLOCKING = ("serious", "critical")
# Every WCAG 2.x A/AA rule and axe's best practices (landmarks, one main, headings...).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def axe_violations(page: Page, impacts: tuple[str, ...] = BLOCKING) -> list[dict[str, Any]]:
    """The axe-core violations on ``page`` (whole document, open dialogs and menus included) of these impacts."""
    if not AXE_SCRIPT.exists():
        raise AssertionError(f"{AXE_SCRIPT} is missing: run `make node-tools`")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # The pages' Content-Security-Policy allows scripts from their own origin only (no inline script, which
        # is what add_script_tag(path=...) would insert): serve the file at a same-origin address Playwright answers.
        url = page.evaluate("() => location.origin") + AXE_ROUTE
        page.route(url, lambda route: route.fulfill(path=AXE_SCRIPT, content_type="text/javascript"))
        page.add_script_tag(url=url)
    result = page.evaluate(
        """async (tags) => {
            const options = {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']};
            const result = await window.axe.run(document, options);
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => ({target: n.target.join(' '), summary: n.failureSummary || ''})),
            }));
        }""",
        TAGS,
    )
    return [v for v in cast("list[dict[str, Any]]", result) if v["impact"] in impacts]


def describe(violations: list[dict[str, Any]]) -> str:
    """A readable list: rule id, impact, what it asks and every target node with axe's summary."""
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            summary = " ".join(str(node["summary"]).split())
            lines.append(f"    {node['target']}  — {summary}")
    return "\n".join(lines)


def assert_accessible(page: Page, screen: str) -> None:
    """Fail with a readable list when axe-core finds a serious or critical violation on ``page``."""
    violations = axe_violations(page)
    assert not violations, f"axe-core on {screen} ({page.url}): {len(violations)} serious/critical\n" + describe(
        violations
    )
