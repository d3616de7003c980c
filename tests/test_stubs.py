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
