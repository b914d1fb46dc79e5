"""``LOCAL_TOOLS=1``: a tool that is not served locally says why on its dashboard card.

The local tools' routes write their notes to a file, the API reads it and puts each note on the
card whose tool URL has that host; the card's template shows it (no cluster, no browser).
"""

from __future__ import annotations

from pathlib import Path

from apranova.local.tools.proxy import Routes
from apranova_api.pages.dashboard_view import tool_cards, with_local_notes
from apranova_api.pages.local_tool_notes import read_local_tool_notes
from apranova_api.pages.routes import templates

CODE_HOST = "code-cy.students.localtest.me"
REASON = "code cannot run locally: cannot install codeserver-4.139.1: npm failed"


def _cards() -> list:
    expected = [{"name": "code", "label": "VS Code"}, {"name": "docs", "label": "Docs"}]
    reported = [
        {"name": "code", "url": f"http://{CODE_HOST}:8090", "ready": True},
        {"name": "docs", "url": "http://docs-cy.students.localtest.me:8090", "ready": True},
    ]
    return tool_cards(expected, reported, "Ready")


def test_the_routes_notes_reach_the_card_of_that_host_only(tmp_path: Path) -> None:
    notes_file = tmp_path / "tools" / "notes.json"
    routes = Routes(notes_file=notes_file)
    assert read_local_tool_notes(str(notes_file)) == {}
    routes.set_note(CODE_HOST.upper(), REASON)
    code, docs = with_local_notes(_cards(), read_local_tool_notes(str(notes_file)))
    assert (code.note, code.ready) == (REASON, True)
    assert docs == _cards()[1]
    routes.set(CODE_HOST, 40000)
    assert read_local_tool_notes(str(notes_file)) == {}


def test_a_new_run_starts_without_the_notes_of_the_last(tmp_path: Path) -> None:
    notes_file = tmp_path / "notes.json"
    Routes(notes_file=notes_file).set_note(CODE_HOST, REASON)
    Routes(notes_file=notes_file)
    assert read_local_tool_notes(str(notes_file)) == {}


def test_no_setting_no_file_or_a_bad_file_means_no_notes(tmp_path: Path) -> None:
    assert read_local_tool_notes("") == {}
    assert read_local_tool_notes(str(tmp_path / "missing.json")) == {}
    (tmp_path / "bad.json").write_text("{not json")
    assert read_local_tool_notes(str(tmp_path / "bad.json")) == {}
    (tmp_path / "list.json").write_text("[1]")
    assert read_local_tool_notes(str(tmp_path / "list.json")) == {}


def test_the_card_says_plainly_why_its_tool_cannot_run() -> None:
    cards = with_local_notes(_cards(), {CODE_HOST: REASON})
    page = templates.get_template("_dashboard_tools.html").render(
        t={"cards": cards, "sfx": "", "part_query": "", "all_ready": True, "tools_status": ""}
    )
    code_card = page.split('data-tool="code"', 1)[1].split("</section>", 1)[0]
    assert f'<p class="hint">{REASON}</p>' in code_card
    docs_card = page.split('data-tool="docs"', 1)[1].split("</section>", 1)[0]
    assert "hint" not in docs_card
