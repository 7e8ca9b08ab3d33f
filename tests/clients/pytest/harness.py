"""How the tests start the real ``codecontext serve --stdio`` and wait for it.

The binary is ``$CODECONTEXT_BIN``, or ``target/debug/codecontext`` under the
repository root. The client declares Visual Studio Code's recorded capabilities (so the
server sees ``window.workDoneProgress``, ``linkSupport``, hierarchical symbols and dynamic
file watching, as from a real editor). Waits are for a condition, with a bound: the
``$/progress`` notification whose ``kind`` is ``end``, a diagnostics notification.

The server runs as editors start it, through the folder's daemon (one per folder and
``CODECONTEXT_HOME``, started by the first client); Neovim's suite and the Rust tests run
it in-process (``--no-daemon``).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

REPO = Path(__file__).resolve().parents[3]
FIXTURE = REPO / "fixtures" / "python"
SERVER = Path(
    os.environ.get("CODECONTEXT_BIN", REPO / "target" / "debug" / "codecontext")
).resolve()

# Generous for a debug build on a busy CI machine; a pass takes milliseconds.
TIMEOUT = 30.0


def make_client() -> LanguageClient:
    """pytest-lsp's test client, which also answers ``client/registerCapability`` and
    keeps what was registered (the server registers its file watchers that way)."""
    client = pytest_lsp.make_test_lsp_client()
    client.registrations = []
    client.registered = asyncio.Event()

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(client: LanguageClient, params: types.RegistrationParams):
        client.registrations.extend(params.registrations)
        client.registered.set()

    return client


CONFIG = ClientServerConfig(
    server_command=[str(SERVER), "serve", "--stdio"],
    client_factory=make_client,
    server_env={**os.environ, "CODECONTEXT_LOG": os.environ.get("CODECONTEXT_LOG", "warn")},
)


async def bounded(awaitable, what: str):
    """Awaits with the suite's bound; a timeout fails the test and says what was awaited."""
    try:
        return await asyncio.wait_for(awaitable, TIMEOUT)
    except asyncio.TimeoutError:
        pytest.fail(f"timed out after {TIMEOUT}s waiting for {what}", pytrace=False)


async def wait_for(
    client: LanguageClient, method: str, done: Callable[[], bool], what: str
) -> None:
    """Waits until ``done()`` holds, checking again after each ``method`` notification.

    pytest-lsp records every notification (progress in ``progress_reports``, diagnostics
    in ``diagnostics``) before waking the waiter, and the check and the next wait happen
    without yielding to the event loop, so no notification can slip between them.
    """

    async def loop() -> None:
        while not done():
            await client.wait_for_notification(method)

    await bounded(loop(), what)


def indexing_finished(client: LanguageClient) -> bool:
    return any(
        isinstance(value, types.WorkDoneProgressEnd)
        for values in client.progress_reports.values()
        for value in values
    )


async def start(
    client: LanguageClient, root: Path, position_encodings: list[str] | None = None
) -> None:
    """initialize, initialized, then wait for indexing to end."""
    capabilities = pytest_lsp.client_capabilities("visual-studio-code")
    if position_encodings is not None:
        capabilities.general = capabilities.general or types.GeneralClientCapabilities()
        capabilities.general.position_encodings = position_encodings
    root = root.resolve()
    client.initialize_result = await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities,
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
        )
    )
    await wait_for(
        client,
        types.PROGRESS,
        lambda: indexing_finished(client),
        "the $/progress notification that ends indexing",
    )
