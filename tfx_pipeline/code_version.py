"""Which code a pipeline step runs, as a hash: part of the step's cache key.

ML Metadata reuses a step's earlier output when its inputs and exec properties are the
same; TFX does not look at the Python code behind the step. So each of our steps carries
``code_version(<its entry modules>)``: a hash of those modules and of every module of
``models/``, ``training/``, ``components/`` and ``sicot/`` they import, directly or through others
(found by reading the import statements, also those inside functions; a package's
``__init__.py`` counts with each of its modules). A change of the ingest code then
reruns ingest but not a cached Trainer, and a change of a loss reruns the Trainer but
not ingest or Transform. Tests (``*_test.py``) and other files do not count.

Not seen: code reached without an import statement (a module named in a string and
loaded with importlib); the steps name such modules as entries instead
(``models.preprocessing`` for Transform's ``preprocessing_fn``, ``models.trainer`` for the
Trainer's ``run_fn``).
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

PACKAGES = ("models", "training", "components", "sicot")
ROOT = Path(__file__).resolve().parent.parent


def _module_file(name: str, root: Path) -> Path | None:
    parts = name.split(".")
    if parts[0] not in PACKAGES:
        return None
    for candidate in (root.joinpath(*parts).with_suffix(".py"), root.joinpath(*parts, "__init__.py")):
        if candidate.is_file():
            return candidate
    return None


def _imported(path: Path, root: Path) -> set[Path]:
    """The files of our packages that one module imports."""
    found: set[Path] = set()
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            # "from models import trainer" imports a module, "from models.x import f" a name:
            # each prefix that is one of our modules counts (below).
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            parts = name.split(".")
            for i in range(1, len(parts) + 1):  # the module and the packages above it
                file = _module_file(".".join(parts[:i]), root)
                if file is not None:
                    found.add(file)
    return found


def step_files(entries: tuple[str, ...], root: Path = ROOT) -> list[Path]:
    """The entry modules and everything of our packages they import, transitively."""
    todo = []
    for entry in entries:
        file = _module_file(entry, root)
        if file is None:
            raise ValueError(f"code_version: no module '{entry}' under {root}")
        todo.append(file)
        todo.append(root / entry.split(".")[0] / "__init__.py")
    seen: set[Path] = set()
    while todo:
        file = todo.pop()
        if file in seen or not file.is_file():
            continue
        seen.add(file)
        todo.extend(_imported(file, root) - seen)
    return sorted(f for f in seen if not f.name.endswith("_test.py"))


def code_version(*entries: str, root: Path = ROOT) -> str:
    """16 hex digits over the step's files (names relative to root, and contents); with no
    entries, over every module of the packages."""
    files = step_files(entries, root) if entries else sorted(
        p for package in PACKAGES for p in (root / package).glob("*.py") if not p.name.endswith("_test.py"))
    h = hashlib.sha256()
    for path in files:
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]
