"""`pip install payedge` from the built wheel, on a machine without Rust (SPEC 10).

`make wheel` builds `dist/payedge-<version>-cp311-abi3-*.whl` (the native core,
abi3: one wheel for every CPython >= 3.11) and `dist/payedge_server-*.whl`; a
wheel newer than every source it is built from is reused (CI builds it once).
A fresh virtual environment then installs it with pip, with neither cargo nor
rustc on PATH and no package index: payedge and payedge-server come from
dist/ only, their dependencies from build/wheelhouse (filled once by
`pip download` when a wheel is missing, pinned by requirements-dev.txt),
wheels only, so nothing can be compiled. In that environment payedge imports from site-packages,
verifies and parses a Stripe event natively, and `payedge[server]` brings the
edge server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist"
WHEELHOUSE = ROOT / "build" / "wheelhouse"
SOURCES = [
    ROOT / "core-rs" / "core" / "src",
    ROOT / "core-rs" / "bindings",
    ROOT / "python" / "payedge",
    ROOT / "server" / "payedge_server",
    ROOT / "Cargo.toml",
    ROOT / "Cargo.lock",
    ROOT / "pyproject.toml",
    ROOT / "server" / "pyproject.toml",
]
SKIP_PARTS = {"__pycache__", "target", ".mypy_cache"}


def version() -> str:
    workspace = tomllib.loads((ROOT / "Cargo.toml").read_text())
    return str(workspace["workspace"]["package"]["version"])


def newest_source() -> float:
    newest = 0.0
    for source in SOURCES:
        files = [source] if source.is_file() else source.rglob("*")
        for path in files:
            if path.is_file() and not SKIP_PARTS.intersection(path.parts) and path.suffix != ".so":
                newest = max(newest, path.stat().st_mtime)
    return newest


def built_wheels() -> tuple[Path, Path] | None:
    """dist/'s two wheels when both are newer than every source."""
    core = sorted(DIST.glob(f"payedge-{version()}-cp311-abi3-*.whl"))
    server = sorted(DIST.glob(f"payedge_server-{version()}-py3-none-any.whl"))
    if len(core) != 1 or len(server) != 1:
        return None
    fresh = min(core[0].stat().st_mtime, server[0].stat().st_mtime) >= newest_source()
    return (core[0], server[0]) if fresh else None


@pytest.fixture(scope="module")
def wheels() -> tuple[Path, Path]:
    found = built_wheels()
    if found is None:
        started = time.monotonic()
        subprocess.run(["make", "wheel"], cwd=ROOT, check=True, timeout=1800, capture_output=True)
        print(f"make wheel: {time.monotonic() - started:.1f} s")
        found = built_wheels()
    assert found is not None, "make wheel did not leave fresh wheels in dist/"
    return found


def no_rust_env() -> dict[str, str]:
    """The environment with every PATH directory holding cargo or rustc removed."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON", "CARGO", "RUSTUP"))
    }
    dirs = [d for d in env.get("PATH", "").split(os.pathsep) if d]
    env["PATH"] = os.pathsep.join(
        d for d in dirs if not any(Path(d, tool).exists() for tool in ("cargo", "rustc", "maturin"))
    )
    env["PIP_CONFIG_FILE"] = os.devnull  # no find-links or index from the machine's pip.conf
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def fill_wheelhouse(server_wheel: Path) -> None:
    """Wheels of every dependency of payedge[server], at the versions CI pins (needs the index once)."""
    with zipfile.ZipFile(server_wheel) as wheel:
        metadata = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
        lines = wheel.read(metadata).decode().splitlines()
    requirements = [line.split(":", 1)[1].strip() for line in lines if line.startswith("Requires-Dist:")]
    requirements = [r for r in requirements if not r.startswith("payedge")]
    WHEELHOUSE.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "-d", str(WHEELHOUSE),
         "-c", str(ROOT / "requirements-dev.txt"), *requirements],
        check=True, timeout=600, capture_output=True,
    )  # fmt: skip


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("fresh")
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True, timeout=300)
    yield root / "venv"
    shutil.rmtree(root, ignore_errors=True)


def pip_install(venv: Path, server_wheel: Path, *requirements: str) -> None:
    """Install from dist/ and the wheelhouse only; when a dependency's wheel is not
    there yet (first run, or a new dependency), fill the wheelhouse and try again."""
    env = no_rust_env()
    assert shutil.which("cargo", path=env["PATH"]) is None
    assert shutil.which("rustc", path=env["PATH"]) is None
    command = [
        str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index", "--only-binary=:all:",
        "--find-links", str(DIST), "--find-links", str(WHEELHOUSE), *requirements,
    ]  # fmt: skip
    for attempt in range(2):
        result = subprocess.run(
            command, env=env, cwd=venv, capture_output=True, text=True, timeout=600, check=False
        )
        if result.returncode == 0 or attempt == 1 or "No matching distribution" not in result.stderr:
            break
        fill_wheelhouse(server_wheel)
    assert result.returncode == 0, result.stdout + result.stderr


def run_python(venv: Path, code: str) -> str:
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", textwrap.dedent(code)],
        env=no_rust_env(), cwd=venv, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


_VERIFY = """
    import json, time
    import payedge
    from payedge import stripe_compat
    from payedge._core import __file__ as core_file

    assert "site-packages" in payedge.__file__, payedge.__file__
    assert core_file.endswith(".abi3.so"), core_file
    body = json.dumps({"id": "evt_1", "object": "event", "type": "payment_intent.succeeded",
                       "created": 1763700000, "livemode": False,
                       "data": {"object": {"object": "payment_intent", "amount": 2000,
                                           "metadata": {"order_id": "ord_1"}}}}).encode()
    secret = "whsec_wheel_test"
    header = payedge.sign_stripe(body, secret, int(time.time()))
    assert payedge.verify_stripe(body, header, secret) > 0
    assert payedge.parse_stripe_event(body, header, secret).amount == 2000
    event = stripe_compat.construct_event(body, header, secret)
    assert event.data.object.metadata.order_id == "ord_1"
    try:
        stripe_compat.construct_event(body, header.replace("v1=", "v1=0"), secret)
    except stripe_compat.SignatureVerificationError:
        pass
    else:
        raise AssertionError("a bad signature verified")
    print(payedge.__version__, stripe_compat.STRIPE_INSTALLED)
"""


def test_pip_install_payedge_without_rust(wheels: tuple[Path, Path], venv: Path) -> None:
    core, server = wheels
    started = time.monotonic()
    pip_install(venv, server, f"payedge=={version()}")
    print(f"pip install payedge: {time.monotonic() - started:.1f} s from {core.name}")
    assert run_python(venv, _VERIFY).split() == [version(), "False"]  # stripe-python is not a dependency


def test_payedge_server_extra_brings_the_edge_server(wheels: tuple[Path, Path], venv: Path) -> None:
    _, server = wheels
    pip_install(venv, server, f"payedge[server]=={version()}")
    assert run_python(venv, _VERIFY).split() == [version(), "True"]  # the server depends on stripe
    result = subprocess.run(
        [str(venv / "bin" / "payedge"), "serve", "--help"],
        env=no_rust_env(), cwd=venv, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0 and "--stripe-webhook-secret" in result.stdout, result.stderr


def test_versions_agree() -> None:
    """payedge (Cargo workspace), payedge-server and the `server` extra's pin: one version."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    server = tomllib.loads((ROOT / "server" / "pyproject.toml").read_text())["project"]
    assert server["version"] == version()
    assert project["optional-dependencies"]["server"] == [f"payedge-server=={version()}"]
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## [{version()}]" in changelog
