"""`codecontext/usages` and the `codecontext.usages` command from pytest-lsp: how the
project calls a function, grouped by shape; the same summary as a hover hint."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from harness import CONFIG, REPO, bounded, start
from test_context import plain


@pytest.fixture
def usages_root(tmp_path: Path) -> Path:
    root = tmp_path / "usages"
    shutil.copytree(REPO / "fixtures" / "usages", root)
    return root.resolve()


@pytest_lsp.fixture(config=CONFIG)
async def usages_client(lsp_client: LanguageClient, usages_root: Path):
    await start(lsp_client, usages_root)
    yield
    await lsp_client.shutdown_session()


async def usages(client: LanguageClient, params: dict) -> dict:
    return plain(
        await bounded(client.protocol.send_request_async("codecontext/usages", params), "codecontext/usages")
    )


async def test_usages_by_name_by_editor_position_and_by_command(
    usages_client: LanguageClient, usages_root: Path
):
    answer = await usages(usages_client, {"symbol": "client.fetch"})
    assert answer["calls"] == 5
    assert answer["summary"][0] == "4 of 5 calls pass `timeout=`; 1 do not: app.py:21:5"
    assert [(r["what"], r["count"]) for r in answer["results"]] == [
        ("assigned", 3),
        ("returned", 1),
        ("discarded", 1),
    ]
    # In document order: the first shape's example is the first call.
    assert answer["shapes"][0]["example"] == {"place": "app.py:5:12", "text": 'fetch("a", timeout=5)'}

    # From an editor: the cursor on the name of the definition.
    at_cursor = await usages(
        usages_client,
        {"textDocument": {"uri": (usages_root / "client.py").as_uri()}, "position": {"line": 0, "character": 5}},
    )
    assert at_cursor == answer
    by_command = plain(
        await bounded(
            usages_client.workspace_execute_command_async(
                types.ExecuteCommandParams(command="codecontext.usages", arguments=[{"position": "client.py:1:5"}])
            ),
            "workspace/executeCommand codecontext.usages",
        )
    )
    assert by_command == answer

    for params, says in [
        ({"symbol": "nope"}, "no function or method is named `nope`"),
        ({}, "give exactly one of `symbol`"),
        ({"symbol": "fetch", "position": "client.py:1:5"}, "give exactly one of"),
        ({"position": "client.py:99:1"}, "client.py"),
    ]:
        try:
            await usages(usages_client, params)
        except Exception as e:
            assert says in str(e), (params, str(e))
        else:
            raise AssertionError(f"{params} should fail")


async def test_hover_on_a_call_says_how_the_project_usually_calls_it(
    usages_client: LanguageClient, usages_root: Path
):
    hover = await bounded(
        usages_client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=(usages_root / "app.py").as_uri()),
                position=types.Position(line=20, character=5),
            )
        ),
        "textDocument/hover",
    )
    assert "Usage: 4 of 5 calls pass `timeout=`; 1 do not: app.py:21:5" in hover.contents.value
