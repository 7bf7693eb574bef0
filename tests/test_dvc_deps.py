"""Every stage in dvc.yaml lists, as deps, the project modules its command imports (directly or
through other project modules), so that `dvc repro` reruns a stage whenever code it runs changes.
A folder dep covers every module under it."""

import ast
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("lib", "stages")


def _module_file(name: str) -> Path | None:
    path = ROOT / Path(*name.split("."))
    if path.with_suffix(".py").is_file():
        return path.with_suffix(".py")
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    return None


def _code(path: Path) -> str:
    """Python source of a module, or of a Quarto page's python cells."""
    text = path.read_text()
    if path.suffix == ".qmd":
        return "\n".join(re.findall(r"```\{python\}\n(.*?)```", text, flags=re.S))
    return text


def _imports(path: Path) -> set[str]:
    """Project modules `path` imports at any depth of its code (function-level imports too)."""
    tree = ast.parse(_code(path))
    found = set()
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1]) if path.suffix == ".py" else ""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        found |= {n for n in names if n.split(".")[0] in PACKAGES and _module_file(n)}
    return found


def _closure(modules: list[str], pages: list[Path] = ()) -> set[Path]:
    seen: set[str] = set()
    todo = list(modules)
    for page in pages:
        todo += list(_imports(page))
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        # A submodule's import runs its packages' __init__ too.
        parts = name.split(".")
        todo += [".".join(parts[:k]) for k in range(1, len(parts)) if _module_file(".".join(parts[:k]))]
        todo += list(_imports(_module_file(name)))
    return {_module_file(n).relative_to(ROOT) for n in seen}


def _stages():
    spec = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name, stage in spec.items():
        body = stage.get("do", stage)
        match = re.search(r"python -m ([\w.]+)", body["cmd"])
        if match:
            deps = [str(d).replace("${item}", "x") for d in body.get("deps", [])]
            # The report stage executes report/*.qmd, whose cells import lib modules.
            pages = [ROOT / d for d in deps if d.startswith("report/") and d.endswith((".qmd", ".py"))]
            yield name, match[1], deps, pages


def _no_code(path: Path) -> bool:
    """A module that is only a docstring (a package marker) runs no code."""
    body = ast.parse(path.read_text()).body
    return all(isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in body)


@pytest.mark.parametrize("stage, module, deps, pages", list(_stages()),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_stage_deps_cover_the_code_it_runs(stage, module, deps, pages):
    missing = []
    for path in sorted(_closure([module], pages)):
        if _no_code(ROOT / path):
            continue
        covered = any(str(path) == d or str(path).startswith(d.rstrip("/") + "/") for d in deps)
        if not covered:
            missing.append(str(path))
    assert not missing, f"dvc.yaml stage {stage}: add deps {missing}"
