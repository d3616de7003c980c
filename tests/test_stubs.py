"""The type stubs of the native module must match what it really exports."""

from __future__ import annotations

import subprocess
import sys


def test_core_stubs_match_runtime() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "payedge._core", "--ignore-missing-stub"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_package_reexports_everything_public() -> None:
    import payedge
    import payedge._core as core

    public = {name for name in dir(core) if not name.startswith("_")}
    assert public <= set(payedge.__all__), sorted(public - set(payedge.__all__))
    for name in payedge.__all__:
        assert hasattr(payedge, name), name


def test_every_stub_member_is_documented() -> None:
    """Each function, class, method and property of _core.pyi says shapes, units and errors."""
    import ast
    from pathlib import Path

    import payedge

    stub = Path(payedge.__file__).with_name("_core.pyi")
    tree = ast.parse(stub.read_text())
    assert ast.get_docstring(tree), "module docstring (the clock policy) is missing"
    missing: list[str] = []

    def visit(nodes: list[ast.stmt], prefix: str) -> None:
        for node in nodes:
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                name = f"{prefix}{node.name}"
                private_class = isinstance(node, ast.ClassDef) and node.name.startswith("_")
                if not private_class and not ast.get_docstring(node):
                    missing.append(name)
                if isinstance(node, ast.ClassDef) and not private_class:
                    visit(node.body, f"{name}.")

    visit(tree.body, "")
    assert not missing, missing
