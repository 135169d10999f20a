"""The README is the front door and the manuals are in docs/: every relative link and `#anchor`
between them resolves (GitHub's heading slugs), the README stays short, and every GRIDLOOP_*
setting the code reads is documented somewhere an operator can find it."""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BENCH_README = ROOT / "bench" / "README.md"
MANUALS = sorted([README, *(ROOT / "docs").glob("*.md"), *([BENCH_README] if BENCH_README.exists() else [])])
CODE_DIRS = ("chalicelib", "devstack", "tools", "infra", "bench")

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
SETTING = re.compile(r"GRIDLOOP_[A-Z_]*[A-Z]")

# Settings the code reads that are not for anyone to set, each with why. Prefer documenting one.
INTERNAL_SETTINGS: dict[str, str] = {}


def prose_lines(path: Path) -> list[str]:
    """The file's lines outside fenced code blocks."""
    kept, fence = [], None
    for line in path.read_text(encoding="utf-8").splitlines():
        opened = FENCE.match(line)
        if fence is None and opened:
            fence = opened.group(1)
        elif fence is not None:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = None
        else:
            kept.append(line)
    return kept


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text as rendered (code spans, links and emphasis
    reduced to their words), lowercased, every character but letters, digits, marks, `_`, `-`
    and spaces dropped (CJK kept), spaces turned into hyphens."""
    text = CODE_SPAN.sub(lambda m: m.group(2), heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text).lower()
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LNM")
    return kept.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading's anchor; a repeated heading gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    found = set()
    for line in prose_lines(path):
        if m := HEADING.match(line):
            base = slug(m.group(2))
            n = seen.get(base, 0)
            seen[base] = n + 1
            found.add(base if n == 0 else f"{base}-{n}")
    return found


def links(path: Path) -> list[str]:
    """The targets of the file's Markdown links and images, outside code."""
    targets = []
    for line in prose_lines(path):
        line = CODE_SPAN.sub("code", line)
        targets += INLINE_LINK.findall(line)
        if m := REFERENCE.match(line):
            targets.append(m.group(1))
    return targets


def broken_links(path: Path) -> list[str]:
    """`target: why` for each relative link of the file that leads nowhere."""
    wrong = []
    for target in links(path):
        if re.match(r"^(https?|mailto):", target, re.IGNORECASE):
            continue
        file_part, _, fragment = target.partition("#")
        linked = (path.parent / unquote(file_part)).resolve() if file_part else path
        if not linked.exists():
            wrong.append(f"{target}: no such file")
        elif fragment and linked.suffix == ".md" and unquote(fragment) not in anchors(linked):
            wrong.append(f"{target}: no heading #{unquote(fragment)} in {linked.name}")
    return wrong


def documented_settings() -> set[str]:
    return {name for path in MANUALS for name in SETTING.findall(path.read_text(encoding="utf-8"))}


def settings_in_code() -> dict[str, str]:
    """Each GRIDLOOP_* name in the product's Python code, with one file that names it."""
    found: dict[str, str] = {}
    for path in [ROOT / "app.py", *(p for d in CODE_DIRS for p in sorted((ROOT / d).rglob("*.py")))]:
        for name in SETTING.findall(path.read_text(encoding="utf-8")):
            found.setdefault(name, str(path.relative_to(ROOT)))
    return found


# -- the rules themselves, on small examples ------------------------------------------------

def test_given_headings_with_punctuation_code_and_chinese_when_slugged_then_they_match_github():
    assert slug("Each function's IAM role") == "each-functions-iam-role"
    assert slug("Metrics, logs, alarms and the dashboard") == "metrics-logs-alarms-and-the-dashboard"
    assert slug("Daily digest for away members (外出党员)") == "daily-digest-for-away-members-外出党员"
    assert slug("The `ops` function: 收到 / 完成") == "the-ops-function-收到--完成"
    assert slug("Residents' SMS") == "residents-sms"


def test_given_a_repeated_heading_and_one_in_code_when_anchors_are_read_then_only_prose_counts(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n## Notes\n```sh\n# not a heading\n```\n## Notes\n## Notes\n", encoding="utf-8")
    assert anchors(page) == {"title", "notes", "notes-1", "notes-2"}


def test_given_links_of_every_kind_when_checked_then_only_the_broken_ones_are_reported(tmp_path):
    (tmp_path / "other.md").write_text("# Other\n## Known part\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n"
        "[ok](other.md#known-part) [self](#page) [web](https://example.com/x#y) `[code](nowhere.md)`\n"
        "[bad file](missing.md) [bad anchor](other.md#unknown) [bad self](#nothing)\n"
        "```\n[fenced](also-missing.md)\n```\n", encoding="utf-8")
    assert [entry.split(":")[0] for entry in broken_links(page)] == ["missing.md", "other.md#unknown", "#nothing"]


# -- the repository's own manuals -------------------------------------------------------------

@pytest.mark.parametrize("path", MANUALS, ids=lambda p: str(p.relative_to(ROOT)))
def test_given_a_manual_when_its_links_are_followed_then_every_file_and_anchor_exists(path):
    assert broken_links(path) == []


def test_given_the_readme_when_counted_then_it_is_at_most_300_lines():
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 300, "move the detail into docs/"


def test_given_every_setting_the_code_reads_when_the_manuals_are_searched_then_each_is_documented():
    missing = {name: where for name, where in settings_in_code().items()
               if name not in documented_settings() and name not in INTERNAL_SETTINGS}
    assert missing == {}, "document each in README.md or docs/*.md (docs/deploying.md#settings lists them)"


def test_given_each_docs_page_when_opened_then_it_has_a_title_and_links_back_to_the_readme():
    for path in sorted((ROOT / "docs").glob("*.md")):
        if path.name == "reliability.md":      # generated by tools/reliability_report.py
            continue
        text = path.read_text(encoding="utf-8")
        assert text.startswith("# "), path.name
        assert "](../README.md)" in text.split("\n## ", 1)[0], f"{path.name}: link back to the README at the top"


# -- what the README keeps because other tests read it there, and its docs/ copy --------------

def _routes(text: str, heading: str) -> set[str]:
    section = text.split(f"\n{heading}\n", 1)[1].split("\n#", 1)[0]
    return set(re.findall(r"^\| `((?:GET|POST|PUT|PATCH|DELETE) /[^`?]*)", section, re.MULTILINE))


def test_given_the_http_api_tables_when_compared_then_the_readme_and_docs_contract_list_the_same_routes():
    # tests/infra/test_route_auth.py reads the README's table; docs/contract.md has the full one
    readme = _routes(README.read_text(encoding="utf-8"), "### HTTP API")
    contract = _routes((ROOT / "docs" / "contract.md").read_text(encoding="utf-8"), "## HTTP API")
    assert readme == contract and len(readme) >= 8


def test_given_the_cost_arithmetic_when_printed_then_docs_cost_has_the_same_table_as_the_readme():
    # tests/unit/test_cost.py checks the README's copy
    from bench.cost import cost, table

    assert table(cost()) in (ROOT / "docs" / "cost.md").read_text(encoding="utf-8")
