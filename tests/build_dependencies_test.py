"""The package layering that BUILD declares is the one the code imports.

sicot (config, console) -> training -> models -> components -> tfx_pipeline -> evaluation,
serving -> cli. Every import of a project package counts, also one inside a function;
only the CLI (the top layer, nothing imports it) may import inside functions, so that
`sicot config` starts without TensorFlow.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAZY_IMPORTS_ALLOWED = {"cli"}


def declared_libraries() -> dict[str, set[str]]:
    text = (ROOT / "BUILD").read_text()
    match = re.search(r"^_LIBRARIES = (\{.*?^\})", text, re.S | re.M)
    assert match, "BUILD has no _LIBRARIES table"
    return {package: set(deps) for package, deps in ast.literal_eval(match.group(1)).items()}


def _product_modules(package: str) -> list[Path]:
    return [p for p in sorted((ROOT / package).glob("*.py"))
            if not p.name.endswith("_test.py") and p.name != "conftest.py"]


def imports_of(path: Path, packages: set[str]) -> list[tuple[str, int, bool]]:
    """(imported project package, line, inside a function or class) for each import."""
    tree = ast.parse(path.read_text(), str(path))
    module_level = {id(node) for node in tree.body}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in packages:
                out.append((top, node.lineno, id(node) not in module_level))
    return out


def real_libraries(packages: set[str]) -> dict[str, set[str]]:
    return {package: {top for path in _product_modules(package) for top, _, _ in imports_of(path, packages)
                      if top != package}
            for package in packages}


def test_build_declares_exactly_the_packages_each_package_imports():
    declared = declared_libraries()
    real = real_libraries(set(declared))
    differences = {p: {"undeclared": sorted(real[p] - declared[p]), "not imported": sorted(declared[p] - real[p])}
                   for p in declared if real[p] != declared[p]}
    assert not differences, f"BUILD's _LIBRARIES and the imports differ: {differences}"


def test_every_product_package_has_a_library():
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bazel_support"}
    assert packages <= set(declared_libraries()), packages - set(declared_libraries())


def test_the_layers_have_no_cycle():
    declared = declared_libraries()
    done, active = set(), []

    def visit(package):
        assert package not in active, f"import cycle: {' -> '.join(active + [package])}"
        if package in done:
            return
        active.append(package)
        for dep in declared[package]:
            visit(dep)
        active.pop()
        done.add(package)

    for package in declared:
        visit(package)


def test_no_function_level_import_of_another_package_outside_the_cli():
    declared = declared_libraries()
    lazy = [f"{path.relative_to(ROOT)}:{line} imports {top}"
            for package in set(declared) - LAZY_IMPORTS_ALLOWED for path in _product_modules(package)
            for top, line, nested in imports_of(path, set(declared)) if nested and top != package]
    assert not lazy, lazy


def test_the_checker_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import models\n\ndef f():\n    from serving.app import create_app\n")
    assert imports_of(module, {"models", "serving"}) == [("models", 1, False), ("serving", 4, True)]


def test_every_product_module_has_its_test_beside_it():
    product = set(declared_libraries()) - {"sample_data"}  # the bundled data's build helpers
    missing = [str(path.relative_to(ROOT)) for package in sorted(product) for path in _product_modules(package)
               if path.name not in ("__init__.py", "__main__.py")
               and not path.with_name(f"{path.stem}_test.py").exists()]
    assert not missing, f"modules without a _test.py beside them: {missing}"
