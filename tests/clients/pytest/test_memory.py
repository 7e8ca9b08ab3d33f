"""The project's memory from pytest-lsp: `codecontext/recall`, `remember`, `forget` and
`feedback` (and the same as commands). Decisions come from the fixture's decision records
and from `remember`; each says whether the code it is anchored to has changed since, and
hover shows a symbol's decisions."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from harness import CONFIG, REPO, bounded, start
from test_codecontext import change, open_document
from test_context import plain


@pytest.fixture
def memory_root(tmp_path: Path) -> Path:
    root = tmp_path / "memory"
    shutil.copytree(REPO / "fixtures" / "memory", root)
    # A binary file where a decision record would be: skipped with a reason.
    (root / "docs" / "adr" / "0003-diagram.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    return root.resolve()


@pytest_lsp.fixture(config=CONFIG)
async def memory_client(lsp_client: LanguageClient, memory_root: Path):
    await start(lsp_client, memory_root)
    yield
    await lsp_client.shutdown_session()


async def request(client: LanguageClient, method: str, params: dict | None) -> dict:
    return plain(await bounded(client.protocol.send_request_async(f"codecontext/{method}", params), method))


async def command(client: LanguageClient, name: str, argument: dict) -> dict:
    return plain(
        await bounded(
            client.workspace_execute_command_async(
                types.ExecuteCommandParams(command=f"codecontext.{name}", arguments=[argument])
            ),
            f"workspace/executeCommand codecontext.{name}",
        )
    )


async def fails(client: LanguageClient, method: str, params, says: str) -> None:
    try:
        await request(client, method, params)
    except Exception as e:
        assert says in str(e), (method, params, str(e))
    else:
        raise AssertionError(f"{method} {params} should fail")


def by_id(answer: dict) -> dict:
    return {m["id"]: m for m in answer["memories"]}


async def hover_text(client: LanguageClient, root: Path, line: int, character: int) -> str:
    hover = await bounded(
        client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=(root / "billing.py").as_uri()),
                position=types.Position(line=line, character=character),
            )
        ),
        "textDocument/hover",
    )
    return hover.contents.value


async def test_decision_records_are_recalled_with_their_status_and_anchors(
    memory_client: LanguageClient, memory_root: Path
):
    answer = await request(memory_client, "recall", None)
    memories = by_id(answer)
    assert set(memories) == {"adr:docs/adr/0001-amounts-as-floats.md", "adr:docs/adr/0002-amounts-in-cents.md"}
    old, new = memories["adr:docs/adr/0001-amounts-as-floats.md"], memories["adr:docs/adr/0002-amounts-in-cents.md"]
    assert old["status"] == "superseded" and old["supersededBy"] == new["id"]
    assert new["status"] == "current"
    assert new["title"] == "Amounts in whole cents"
    assert new["recordStatus"] == "accepted"
    assert sorted((a["name"], a["drift"]) for a in new["anchors"]) == [("billing.charge", "same"), ("billing.refund", "same")]
    assert old["validToMs"] == new["validFromMs"]
    assert [s["path"] for s in answer["skipped"]] == ["docs/adr/0003-diagram.md"]
    assert "binary" in answer["skipped"][0]["reason"]
    # The same through the command, and by symbol, file and words.
    assert await command(memory_client, "recall", {}) == answer
    assert set(by_id(await request(memory_client, "recall", {"symbol": "refund"}))) == {new["id"]}
    assert set(by_id(await request(memory_client, "recall", {"file": (memory_root / "billing.py").as_uri()}))) == set(memories)
    assert set(by_id(await request(memory_client, "recall", {"query": "floats"}))) == set(memories)


async def test_a_remembered_decision_turns_suspect_when_its_code_is_edited(
    memory_client: LanguageClient, memory_root: Path
):
    remembered = await request(
        memory_client,
        "remember",
        {"kind": "decision", "text": "Retries back off exponentially", "rationale": "the gateway rate-limits", "symbols": ["retry_delay"]},
    )
    assert remembered["status"] == "current"
    assert [(a["name"], a["drift"]) for a in remembered["anchors"]] == [("billing.retry_delay", "same")]
    # Hover on `retry_delay` shows it, with its status.
    text = await hover_text(memory_client, memory_root, 15, 5)
    assert "Decision **current**: Retries back off exponentially" in text, text

    open_document(memory_client, memory_root, "billing.py")
    change(memory_client, memory_root, "billing.py", 2, [(16, 11, 16, 23, "3 * attempt")])
    answer = await request(memory_client, "recall", {"symbol": "billing.retry_delay"})
    [memory] = answer["memories"]
    assert memory["id"] == remembered["id"]
    assert memory["status"] == "suspect"
    assert memory["anchors"][0]["drift"] == "body_changed"
    assert "Decision **suspect**" in await hover_text(memory_client, memory_root, 15, 5)

    # Taken back: out of recall, unless asked for.
    forgotten = await command(memory_client, "forget", {"id": remembered["id"], "reason": "linear now"})
    assert forgotten["status"] == "forgotten"
    assert (await request(memory_client, "recall", {"symbol": "retry_delay"}))["memories"] == []
    again = await request(memory_client, "recall", {"symbol": "retry_delay", "includeForgotten": True})
    assert again["memories"][0]["forgotten"]["reason"] == "linear now"


async def test_feedback_becomes_a_preference_and_bad_requests_are_refused(
    memory_client: LanguageClient, memory_root: Path
):
    for n in range(3):
        answer = await request(
            memory_client, "feedback", {"about": "rename", "verdict": "rejected", "reason": "names are public API"}
        )
    assert answer["preference"]["rejected"] == 3
    assert answer["preference"]["reasons"] == ["names are public API"]
    learned = (await request(memory_client, "recall", {"query": "rename"}))["learned"]
    assert [p["about"] for p in learned] == ["rename"]

    await fails(memory_client, "remember", {"kind": "wish", "text": "x"}, "`kind` is `wish`")
    await fails(memory_client, "remember", {"kind": "decision", "text": "x", "symbols": ["nope"]}, "no symbol named `nope`")
    await fails(memory_client, "remember", {"kind": "decision"}, "missing field `text`")
    await fails(memory_client, "recall", {"symbol": "charge", "query": "x"}, "give one of")
    await fails(memory_client, "forget", {"id": "m-nope"}, "no memory `m-nope`")
    await fails(memory_client, "feedback", {"about": "rename", "verdict": "maybe"}, "unknown variant")
    # The server still answers.
    assert (await request(memory_client, "recall", {"symbol": "charge"}))["memories"]


def git(root: Path, tick: int, *args: str) -> None:
    """git in `root` as a fixed author at a fixed time, whatever the machine's config."""
    date = f"2026-01-01T00:00:{tick:02d}Z"
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Ada",
        "GIT_AUTHOR_EMAIL": "ada@example.com",
        "GIT_COMMITTER_NAME": "Ada",
        "GIT_COMMITTER_EMAIL": "ada@example.com",
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
    }
    subprocess.run(
        ["git", "-C", str(root), "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
        check=True,
        env=env,
        capture_output=True,
    )


@pytest.fixture
def history_root(tmp_path: Path) -> Path:
    root = tmp_path / "history"
    shutil.copytree(REPO / "fixtures" / "memory", root)
    git(root, 1, "init", "-q")
    git(root, 1, "add", ".")
    git(root, 1, "commit", "-qm", "billing: first")
    billing = root / "billing.py"
    billing.write_text(billing.read_text().replace("2 ** attempt", "3 * attempt"))
    git(root, 2, "commit", "-qam", "retry: linear\n\nDecision: retries back off linearly\nWhy: the gateway counts bursts")
    # Another author, who writes otherwise: camelCase, single quotes, two spaces.
    with billing.open("a") as f:
        f.write("\n\ndef refundAll(accounts):\n  if accounts:\n    return [refund(a, 'all') for a in accounts]\n  return []\n")
    git(root, 3, "commit", "-qam", "refund all", "--author", "Bob <bob@example.com>")
    return root.resolve()


@pytest_lsp.fixture(config=CONFIG)
async def history_client(lsp_client: LanguageClient, history_root: Path):
    await start(lsp_client, history_root)
    yield
    await lsp_client.shutdown_session()


async def test_recall_gives_the_commits_that_changed_a_symbol_and_their_decisions(
    history_client: LanguageClient, history_root: Path
):
    answer = await request(history_client, "recall", {"symbol": "retry_delay"})
    assert answer["historyComplete"] is True
    [symbol] = answer["changes"]
    assert symbol["symbol"] == "billing.retry_delay"
    assert [(c["summary"], c["how"], c["author"]) for c in symbol["commits"]] == [
        ("retry: linear", "modified", "Ada"),
        ("billing: first", "added", "Ada"),
    ]
    [decision] = [m for m in answer["memories"] if m["source"]["kind"] == "commit"]
    assert (decision["text"], decision["rationale"], decision["status"]) == (
        "retries back off linearly",
        "the gateway counts bursts",
        "current",
    )
    # How each author writes, from the lines their commits added.
    by_file = await request(history_client, "recall", {"file": "billing.py"})
    [python] = by_file["style"]
    assert python["language"] == "python" and python["commits"]["commits"] == 3
    habits = {a["author"]: a["habits"] for a in python["authors"]}
    assert (habits["Ada"]["quotes"]["value"], habits["Ada"]["indent"]["value"]) == ("double", "4"), habits
    assert (habits["Bob"]["quotes"]["value"], habits["Bob"]["indent"]["value"]) == ("single", "2"), habits
    assert habits["Bob"]["naming"]["function"]["value"] == "camelCase"
    text = await hover_text(history_client, history_root, 15, 5)
    assert "Last changed" in text and "by Ada" in text and "retry: linear" in text, text
    assert "Decision **current**: retries back off linearly (commit " in text, text
