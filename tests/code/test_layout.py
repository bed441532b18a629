"""The code keeps the shape docs/architecture.md draws: its arrows, its modules, small rooms."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "connector"
DOC = (ROOT / "docs" / "architecture.md").read_text()
MAX_LINES = 300


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _part(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _drawn() -> dict[str, set[str]]:
    block = re.search(r"```arrows\n(.*?)```", DOC, re.S)
    assert block, "docs/architecture.md has no ```arrows block"
    arrows: dict[str, set[str]] = {}
    for line in block.group(1).splitlines():
        name, _, targets = line.partition("->")
        arrows[name.strip()] = {t.strip() for t in targets.split(",") if t.strip()}
    return arrows


def _imports(path: Path) -> set[str]:
    """The parts of connector this module imports (relative imports resolved)."""
    rel = path.relative_to(PACKAGE).with_suffix("")
    here = ["connector", *rel.parts[:-1]] if rel.parts[-1] != "__init__" else ["connector", *rel.parts[:-1]]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            names = [f"{module}.{a.name}" for a in node.names] if module == "connector" else [module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            bits = name.split(".")
            if bits[0] == "connector" and len(bits) > 1:
                found.add(bits[1])
    return found


def test_every_import_is_an_arrow_the_page_draws():
    drawn = _drawn()
    undrawn = []
    for path in _modules():
        me = _part(path)
        assert me in drawn, f"docs/architecture.md does not draw the part {me}"
        for target in _imports(path) - {me}:
            if target not in drawn[me]:
                undrawn.append(f"{path.relative_to(ROOT)} imports {target}")
    assert not undrawn, "imports the arrows do not draw:\n" + "\n".join(undrawn)


def test_the_arrows_have_no_cycle():
    drawn = _drawn()
    done: set[str] = set()

    def visit(part: str, path: tuple[str, ...]) -> None:
        assert part not in path, " -> ".join((*path, part))
        if part not in done:
            for target in drawn.get(part, ()):
                visit(target, (*path, part))
            done.add(part)

    for part in drawn:
        visit(part, ())


def test_every_module_is_named_small_and_says_what_it_is():
    for path in _modules():
        rel = path.relative_to(PACKAGE)
        shown = str(rel) if len(rel.parts) == 1 else str(Path(*rel.parts[1:]))
        if rel.name != "__init__.py" or len(rel.parts) == 1:
            assert f"`{shown}`" in DOC or shown in DOC, f"docs/architecture.md does not name {rel}"
        text = path.read_text()
        assert len(text.splitlines()) <= MAX_LINES, f"{rel} has more than {MAX_LINES} lines"
        doc = ast.get_docstring(ast.parse(text))
        assert doc and doc.strip(), f"{rel} has no docstring at its top"
        assert text.lstrip().startswith('"""'), f"{rel} does not open with its docstring"
