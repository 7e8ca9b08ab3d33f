"""Fixtures: servers over fixtures/python (shared, read-only) or over a copy of it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from harness import CONFIG, FIXTURE, SERVER, start


def pytest_sessionstart(session: pytest.Session) -> None:
    if not SERVER.is_file():
        raise pytest.UsageError(
            f"no server binary at {SERVER}: run `cargo build -p codecontext-server` "
            "or set CODECONTEXT_BIN"
        )


@pytest.fixture(scope="session", autouse=True)
def codecontext_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the servers keep their indexes between sessions: a temporary folder, not
    the user's cache. Shared by the session's servers, as by an editor's restarts."""
    home = tmp_path_factory.mktemp("codecontext-home")
    CONFIG.server_env["CODECONTEXT_HOME"] = str(home)
    return home


@pytest.fixture(scope="session")
def fixture_root() -> Path:
    return FIXTURE.resolve()


@pytest.fixture
def scratch_root(tmp_path: Path) -> Path:
    """A copy of the fixture, for tests that edit documents."""
    copy = tmp_path / "python"
    shutil.copytree(FIXTURE, copy)
    return copy.resolve()


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def client(lsp_client: LanguageClient, fixture_root: Path):
    """One server over fixtures/python, shared by a module's read-only tests."""
    await start(lsp_client, fixture_root)
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=CONFIG)
async def scratch_client(lsp_client: LanguageClient, scratch_root: Path):
    """A server of its own over a copy of fixtures/python."""
    await start(lsp_client, scratch_root)
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=CONFIG)
async def utf8_client(lsp_client: LanguageClient, scratch_root: Path):
    """A server over a copy of fixtures/python, asked for UTF-8 positions, which the
    client prefers."""
    await start(
        lsp_client,
        scratch_root,
        position_encodings=[types.PositionEncodingKind.Utf8, types.PositionEncodingKind.Utf16],
    )
    yield
    await lsp_client.shutdown_session()


@pytest.fixture
def context_root(tmp_path: Path) -> Path:
    """A copy of fixtures/context (the context tests' project)."""
    copy = tmp_path / "context"
    shutil.copytree(FIXTURE.parent / "context", copy)
    return copy.resolve()


@pytest_lsp.fixture(config=CONFIG)
async def context_client(lsp_client: LanguageClient, context_root: Path):
    """A server over a copy of fixtures/context."""
    await start(lsp_client, context_root)
    yield
    await lsp_client.shutdown_session()


@pytest.fixture
def assess_root(tmp_path: Path) -> Path:
    """A copy of fixtures/assess (the assessment tests' project)."""
    copy = tmp_path / "assess"
    shutil.copytree(FIXTURE.parent / "assess", copy)
    return copy.resolve()


@pytest.fixture
def verify_root(tmp_path: Path) -> Path:
    """A copy of fixtures/verify/python with a virtualenv that has no pytest."""
    copy = tmp_path / "calc"
    shutil.copytree(FIXTURE.parent / "verify" / "python", copy)
    subprocess.run(["python3", "-m", "venv", "--without-pip", str(copy / ".venv")], check=True)
    return copy.resolve()


@pytest.fixture
def install_root(tmp_path: Path) -> Path:
    """A copy of fixtures/verify/python-deps whose virtualenv has pytest but not calcdep,
    which the project requires; its requirements file sends pip to calcdep's wheel in the
    project's `wheelhouse` folder (the sandbox shows the project), with no index."""
    wheels = os.environ.get("CODECONTEXT_TEST_WHEELS")
    if not wheels:
        if os.environ.get("CODECONTEXT_REQUIRE_SERVICES"):
            raise AssertionError("CODECONTEXT_TEST_WHEELS is not set: .ci/run downloads pytest's wheels")
        pytest.skip("CODECONTEXT_TEST_WHEELS is not set")
    root = tmp_path / "deps"
    shutil.copytree(FIXTURE.parent / "verify" / "python-deps", root)
    venv = root / ".venv"
    subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "--no-index", "--find-links", wheels, "pytest"], check=True)
    script = Path(__file__).resolve().parent.parent / "calcdep_wheel.py"
    subprocess.run(["python3", str(script), str(root / "wheelhouse")], check=True, capture_output=True)
    root = root.resolve()
    requirements = root / "requirements.txt"
    found_at = f"--no-index\n--find-links {root / 'wheelhouse' / 'calcdep'}\n"
    requirements.write_text(found_at + requirements.read_text())
    return root


@pytest_lsp.fixture(config=CONFIG)
async def install_client(lsp_client: LanguageClient, install_root: Path):
    """A server over install_root."""
    await start(lsp_client, install_root)
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=CONFIG)
async def verify_client(lsp_client: LanguageClient, verify_root: Path):
    """A server over verify_root."""
    await start(lsp_client, verify_root)
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=CONFIG)
async def assess_client(lsp_client: LanguageClient, assess_root: Path):
    """A server over a copy of fixtures/assess."""
    await start(lsp_client, assess_root)
    yield
    await lsp_client.shutdown_session()


@pytest.fixture
def report_root(tmp_path: Path) -> Path:
    """A copy of fixtures/assess with a git history: committed, then shop/pricing.py
    fixed twice."""
    root = tmp_path / "report"
    shutil.copytree(FIXTURE.parent / "assess", root)
    env = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_AUTHOR_NAME": "Dev",
           "GIT_AUTHOR_EMAIL": "dev@example.com", "GIT_COMMITTER_NAME": "Dev",
           "GIT_COMMITTER_EMAIL": "dev@example.com"}

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)

    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "Start the shop")
    pricing = root / "shop" / "pricing.py"
    for old, new in [("* (1 - rate)", "* (1.0 - rate)"), ("round(amount, 2)", "round(amount + 0.0, 2)")]:
        pricing.write_text(pricing.read_text().replace(old, new))
        git("commit", "-q", "-am", f"Fix {old}")
    return root.resolve()


@pytest_lsp.fixture(config=CONFIG)
async def report_client(lsp_client: LanguageClient, report_root: Path):
    """A server over report_root."""
    await start(lsp_client, report_root)
    yield
    await lsp_client.shutdown_session()


@pytest.fixture
def patterns_root(tmp_path: Path) -> Path:
    """A copy of fixtures/patterns (one small file per language, and patterns.json)."""
    copy = tmp_path / "patterns"
    shutil.copytree(FIXTURE.parent / "patterns", copy)
    return copy.resolve()


@pytest_lsp.fixture(config=CONFIG)
async def patterns_client(lsp_client: LanguageClient, patterns_root: Path):
    """A server over a copy of fixtures/patterns."""
    await start(lsp_client, patterns_root)
    yield
    await lsp_client.shutdown_session()
