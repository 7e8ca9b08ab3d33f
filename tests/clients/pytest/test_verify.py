"""`codecontext.verify` from pytest-lsp, on a project whose toolchain is its own: the
verdict names the interpreter it found, and a virtualenv without pytest is a missing
toolchain (`sandbox_error`, `reason: toolchain_missing`), not a failure of the code. A
requirement the virtualenv lacks is installed first, and the progress says so."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types
from pytest_lsp import LanguageClient

from harness import bounded
from test_context import plain


async def verify(client: LanguageClient, diff: str) -> dict:
    """`codecontext.verify` of a unified diff, through workspace/executeCommand."""
    return plain(
        await bounded(
            client.workspace_execute_command_async(
                types.ExecuteCommandParams(command="codecontext.verify", arguments=[{"edit": diff}])
            ),
            "codecontext.verify",
        )
    )


async def test_a_venv_without_pytest_is_a_missing_toolchain(verify_client: LanguageClient, verify_root: Path):
    diff = (
        "--- a/calc.py\n+++ b/calc.py\n@@ -8,2 +8,2 @@\n"
        " def double(a):\n-    return add(a, a)\n+    return 2 * a\n"
    )
    verdict = await verify(verify_client, diff)
    python = verify_root / ".venv" / "bin" / "python"
    assert verdict["verdict"] == "sandbox_error", verdict
    assert verdict["reason"] == "toolchain_missing"
    assert verdict["message"].startswith(f"pytest is not installed for {python} (.venv)"), verdict["message"]
    assert verdict["toolchain"]["program"] == str(python)
    assert verdict["toolchain"]["source"] == ".venv"
    assert verdict["tests"] == []
    # The user's files are untouched.
    assert "return add(a, a)" in (verify_root / "calc.py").read_text()


async def test_an_install_shows_in_the_progress_before_the_tests(install_client: LanguageClient, install_root: Path):
    diff = (
        "--- /dev/null\n+++ b/tests/test_more.py\n@@ -0,0 +1,5 @@\n"
        "+from calc import double\n+\n+\n+def test_more():\n+    assert double(2) == 4\n"
    )
    verdict = await verify(install_client, diff)
    assert verdict["verdict"] == "passed", (verdict.get("message"), verdict.get("install"))
    assert verdict["install"]["status"] == "installed", verdict
    assert verdict["install"]["missing"] == ["calcdep"]

    tokens = [
        token
        for token, values in install_client.progress_reports.items()
        if any(isinstance(v, types.WorkDoneProgressBegin) and v.title == "Verifying the edit" for v in values)
    ]
    assert len(tokens) == 1, install_client.progress_reports
    values = install_client.progress_reports[tokens[0]]
    reports = [v.message for v in values if isinstance(v, types.WorkDoneProgressReport)]
    assert reports == ["installing calcdep (requirements.txt) with pip", "running pytest"], values
    assert isinstance(values[-1], types.WorkDoneProgressEnd)
    # Installed into the cache, not into the project or its virtualenv.
    assert not (install_root / "calcdep").exists()
