"""One index per folder: two editors (pytest-lsp's client over `codecontext serve --stdio`)
and an assistant (the PyPI `mcp` client over `codecontext mcp`) on one folder are served by
one daemon process; what one of them changes, the others see; and when the daemon is
killed mid-session, each client's process starts a new one and replays what its client
had set up (the handshake, the open documents), so that the session goes on."""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import subprocess
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from test_mcp import SERVER, call, copy

TIMEOUT = 60.0


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODECONTEXT_")}
    env.update({"CODECONTEXT_HOME": str(home), "CODECONTEXT_LOG": os.environ.get("CODECONTEXT_LOG", "warn")})
    return env


def daemon(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SERVER), "daemon", *args], env=env, capture_output=True, text=True, timeout=TIMEOUT)


def status(root: Path, env: dict[str, str]) -> dict:
    done = daemon(env, "status", str(root), "--json")
    return json.loads(done.stdout)


def daemon_processes(root: Path) -> list[int]:
    """The processes running `codecontext daemon run ROOT`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and argv[1:4] == [b"daemon", b"run", str(root).encode()]:
            found.append(int(entry.name))
    return found


async def editor(root: Path, env: dict[str, str]) -> pytest_lsp.LanguageClient:
    """An editor's LSP client through `codecontext serve --stdio`, once it was told indexing
    ended (the daemon's first indexing, shown to every client as its own progress)."""
    client = pytest_lsp.make_test_lsp_client()
    await client.start_io(str(SERVER), "serve", "--stdio", env=env)
    await client.initialize_session(
        types.InitializeParams(
            capabilities=pytest_lsp.client_capabilities("visual-studio-code"),
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
        )
    )

    def indexed() -> bool:
        return any(
            isinstance(v, types.WorkDoneProgressEnd) for vs in client.progress_reports.values() for v in vs
        )

    async def wait() -> None:
        while not indexed():
            await client.wait_for_notification(types.PROGRESS)

    await asyncio.wait_for(wait(), TIMEOUT)
    return client


async def symbols(client: pytest_lsp.LanguageClient, query: str) -> list[str]:
    """workspace/symbol, sent again once if the daemon restarted under the request."""
    for attempt in range(2):
        try:
            found = await asyncio.wait_for(
                client.workspace_symbol_async(types.WorkspaceSymbolParams(query=query)), TIMEOUT
            )
            return [s.name for s in found or []]
        except Exception as e:  # pygls raises the JSON-RPC error as an exception
            if attempt or "restarted" not in str(e):
                raise
    raise AssertionError("unreachable")


async def find(s: ClientSession, query: str) -> list[str]:
    """find_symbol's exact matches, asked again once if the daemon restarted under it."""
    for attempt in range(2):
        try:
            answer = await call(s, "find_symbol", {"query": query, "mode": "exact"})
            return [x["name"] for x in answer["symbols"]]
        except Exception as e:
            if attempt or "restarted" not in str(e):
                raise
    raise AssertionError("unreachable")


def open_params(path: Path, text: str) -> types.DidOpenTextDocumentParams:
    return types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=path.as_uri(), language_id="python", version=1, text=text)
    )


async def test_two_editors_and_an_assistant_share_one_daemon_that_survives_a_kill(
    tmp_path: Path, env: dict[str, str]
) -> None:
    root = copy("python", tmp_path).resolve()
    async with AsyncExitStack() as stack:
        first = await editor(root, env)
        second = await editor(root, env)
        params = StdioServerParameters(command=str(SERVER), args=["mcp", str(root)], env=env)
        read, write = await stack.enter_async_context(stdio_client(params))
        assistant = await stack.enter_async_context(ClientSession(read, write))
        await assistant.initialize()

        # One daemon process serves the three of them, from one index.
        before = status(root, env)
        assert before["running"] and before["clients"] == 3, before
        assert daemon_processes(root) == [before["pid"]]

        # The first editor types a function (unsaved): the others see it at once.
        main = root / "main.py"
        typed = main.read_text() + "\n\ndef typed_in_the_first_editor():\n    return 1\n"
        first.text_document_did_open(open_params(main, typed))
        # (A client's requests wait for its own notifications; asking it first orders
        # the others' questions after its change.)
        assert "typed_in_the_first_editor" in await symbols(first, "typed_in_the_first_editor")
        assert "typed_in_the_first_editor" in await symbols(second, "typed_in_the_first_editor")
        assert await find(assistant, "typed_in_the_first_editor") == ["typed_in_the_first_editor"]

        # It saves and closes: the text on disk is the same, so nothing is lost.
        main.write_text(typed)
        first.text_document_did_save(
            types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=main.as_uri()))
        )
        first.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=main.as_uri()))
        )
        assert "typed_in_the_first_editor" in await symbols(first, "typed_in_the_first_editor")
        assert "typed_in_the_first_editor" in await symbols(second, "typed_in_the_first_editor")

        # The second editor holds unsaved text of its own when the daemon is killed.
        util = root / "shop" / "util.py"
        unsaved = util.read_text() + "\n\ndef only_in_the_second_editor():\n    return 2\n"
        second.text_document_did_open(open_params(util, unsaved))
        assert "only_in_the_second_editor" in await symbols(second, "only_in_the_second_editor")
        assert "only_in_the_second_editor" in await symbols(first, "only_in_the_second_editor")
        os.kill(before["pid"], signal.SIGKILL)

        # Every client goes on; the new daemon has the second editor's unsaved text,
        # replayed by its process, and the first editor's saved one, from disk.
        assert "only_in_the_second_editor" in await symbols(second, "only_in_the_second_editor")
        assert "only_in_the_second_editor" in await symbols(first, "only_in_the_second_editor")
        assert await find(assistant, "typed_in_the_first_editor") == ["typed_in_the_first_editor"]
        after = status(root, env)
        assert after["pid"] != before["pid"] and after["clients"] == 3, after
        assert daemon_processes(root) == [after["pid"]]

        for client in (first, second):
            await asyncio.wait_for(client.shutdown_session(), TIMEOUT)
    # The assistant left too: the daemon is told to stop, and does.
    assert daemon(env, "stop", str(root)).returncode == 0


async def test_the_daemon_leaves_when_its_last_client_has_been_gone_for_the_idle_time(
    tmp_path: Path, env: dict[str, str]
) -> None:
    root = copy("python", tmp_path).resolve()
    env["CODECONTEXT_DAEMON_IDLE_S"] = "1"
    params = StdioServerParameters(command=str(SERVER), args=["mcp", str(root)], env=env)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as assistant:
            await assistant.initialize()
            assert await find(assistant, "Cart") == ["Cart"]
            pid = status(root, env)["pid"]
            exited = os.pidfd_open(pid)
    # Woken by the kernel when the process ends, not by a clock.
    ready, _, _ = select.select([exited], [], [], TIMEOUT)
    os.close(exited)
    assert ready, f"the daemon {pid} still runs {TIMEOUT} s after its last client left"
    gone = daemon(env, "status", str(root), "--json")
    assert gone.returncode == 1 and json.loads(gone.stdout)["running"] is False
