"""`codecontext/search` and the `codecontext.search` command, from pytest-lsp: structural
search with the same matches as the `ast-grep` CLI, answers that follow the live
documents, progress over many files, and clear errors for bad searches."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from harness import CONFIG, REPO, SERVER, bounded, start
from test_context import plain

# The ast-grep CLI of this venv (PyPI's ast-grep-cli).
AST_GREP = Path(sys.executable).parent / "ast-grep"


async def search(client: LanguageClient, params: dict) -> dict:
    return plain(
        await bounded(
            client.protocol.send_request_async("codecontext/search", params),
            "codecontext/search",
        )
    )


def ast_grep(root: Path, lang: str, pattern: str, path: str) -> list[tuple[str, int, str]]:
    out = subprocess.run(
        [str(AST_GREP), "run", "--pattern", pattern, "--lang", lang, "--json=compact", path],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return sorted(
        (m["file"], m["range"]["start"]["line"], m["text"]) for m in json.loads(out.stdout)
    )


def ours(answer: dict) -> list[tuple[str, int, str]]:
    return sorted((m["path"], m["range"]["start"]["line"], m["text"]) for m in answer["matches"])


async def test_every_fixture_pattern_matches_what_ast_grep_matches(
    patterns_client: LanguageClient, patterns_root: Path
):
    cases = json.loads((patterns_root / "patterns.json").read_text())
    assert len({c["lang"] for c in cases}) == 7
    for case in cases:
        answer = await search(
            patterns_client,
            {"lang": case["lang"], "pattern": case["pattern"], "paths": [case["file"]]},
        )
        expected = ast_grep(patterns_root, case["lang"], case["pattern"], case["file"])
        assert expected, case
        assert ours(answer) == expected, case
        assert answer["truncated"] is False


async def test_matches_carry_locations_captures_and_symbols_and_the_command_agrees(
    patterns_client: LanguageClient, patterns_root: Path
):
    answer = await search(patterns_client, {"lang": "rust", "pattern": "helper($A, $B)"})
    [m] = answer["matches"]
    assert m["uri"] == (patterns_root / "sample.rs").as_uri()
    # LSP positions are 0-based; `place` and `start` are 1-based, as every door says them.
    assert m["range"]["start"] == {"line": 23, "character": 21}
    assert m["place"] == "sample.rs:24:22"
    assert m["captures"]["A"]["text"] == "self.count"
    assert m["symbol"] == "crate::sample::Counter::bump"
    assert m["symbol_kind"] == "method"

    by_command = plain(
        await bounded(
            patterns_client.workspace_execute_command_async(
                types.ExecuteCommandParams(
                    command="codecontext.search",
                    arguments=[{"lang": "rust", "pattern": "helper($A, $B)"}],
                )
            ),
            "workspace/executeCommand codecontext.search",
        )
    )
    assert by_command["matches"] == answer["matches"]

    # A rule: constraints on metavariables, in ast-grep's rule format.
    answer = await search(
        patterns_client,
        {
            "lang": "python",
            "rule": {
                "rule": {"pattern": "$S.send($$$ARGS)", "not": {"has": {"kind": "keyword_argument", "regex": "^timeout=", "stopBy": "end"}}},
            },
        },
    )
    assert [m["text"] for m in answer["matches"]] == ["client.send(None)"]


async def test_a_search_after_an_edit_equals_a_fresh_search_of_the_edited_text(
    patterns_client: LanguageClient, patterns_root: Path, tmp_path: Path
):
    path = patterns_root / "sample.py"
    uri = path.as_uri()
    text = path.read_text()
    patterns_client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
        )
    )
    # A call without a timeout, typed into the open document (not saved).
    insert = "    requests.get(url, stream=True)\n"
    patterns_client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(
                        start=types.Position(line=4, character=0),
                        end=types.Position(line=4, character=0),
                    ),
                    text=insert,
                )
            ],
        )
    )
    lines = text.splitlines(keepends=True)
    edited = "".join(lines[:4] + [insert] + lines[4:])
    params = {"lang": "python", "pattern": "requests.get($$$ARGS)"}
    live = await search(patterns_client, params)
    assert live["open_documents"] == 1
    assert [m["place"] for m in live["matches"]] == [
        "sample.py:5:5",
        "sample.py:6:12",
        "sample.py:10:12",
    ]

    # The same text on disk, indexed from scratch by the CLI.
    fresh_root = tmp_path / "fresh"
    shutil.copytree(patterns_root, fresh_root)
    (fresh_root / "sample.py").write_text(edited)
    out = subprocess.run(
        [str(SERVER), "search", str(fresh_root), params["pattern"], "--lang", "python", "--json", "--no-store"],
        capture_output=True,
        text=True,
        env={**os.environ, "CODECONTEXT_HOME": str(tmp_path / "home")},
    )
    assert out.returncode == 0, out.stderr
    fresh = json.loads(out.stdout)
    strip = lambda ms: [{k: m[k] for k in ("place", "text", "captures", "symbol")} for m in ms]
    assert strip(live["matches"]) == strip(fresh["matches"])


async def test_bad_searches_are_errors_and_the_server_goes_on(patterns_client: LanguageClient):
    for params, says in [
        ({"lang": "rust", "pattern": "fn ( {"}, "is not valid rust"),
        ({"lang": "cobol", "pattern": "$X"}, "unknown language `cobol`"),
        ({"lang": "rust"}, "give exactly one of `pattern`, `rule` or `query`"),
        ({"lang": "rust", "pattern": "$X", "query": "(x)"}, "give exactly one of"),
        ({"lang": "rust", "query": "(call_expression"}, "does not compile for rust"),
        ({"lang": "rust", "rule": {"rule": {"kind": "no_such_kind"}}}, "no_such_kind"),
        ({"lang": "rust", "pattern": "$X", "paths": ["nowhere"]}, "is in no folder"),
        ({"pattern": "$X"}, "missing field `lang`"),
    ]:
        try:
            await search(patterns_client, params)
        except Exception as e:  # pygls raises the JSON-RPC error
            assert says in str(e), (params, str(e))
        else:
            raise AssertionError(f"{params} should fail")
    answer = await search(patterns_client, {"lang": "go", "pattern": "return $A, nil"})
    assert [m["place"] for m in answer["matches"]] == ["sample.go:12:2"]


@pytest.fixture
def many_root(tmp_path: Path) -> Path:
    """fixtures/patterns and 150 more Python files."""
    root = tmp_path / "many"
    shutil.copytree(REPO / "fixtures" / "patterns", root)
    for i in range(150):
        (root / f"gen_{i}.py").write_text(f"def f{i}(x):\n    return x + {i}\n")
    return root.resolve()


@pytest_lsp.fixture(config=CONFIG)
async def many_client(lsp_client: LanguageClient, many_root: Path):
    await start(lsp_client, many_root)
    yield
    await lsp_client.shutdown_session()


async def test_a_search_over_many_files_reports_progress(many_client: LanguageClient):
    # No word in the pattern to rule a file out: every Python file is parsed.
    answer = await search(many_client, {"lang": "python", "pattern": "return $X + $Y"})
    assert len(answer["matches"]) == 150
    assert answer["files_searched"] == 151
    assert answer["files_ruled_out"] == 0

    tokens = {
        token
        for token, values in many_client.progress_reports.items()
        if any(isinstance(v, types.WorkDoneProgressBegin) and v.title == "Searching" for v in values)
    }
    assert len(tokens) == 1, many_client.progress_reports
    [token] = tokens
    values = many_client.progress_reports[token]
    assert any(isinstance(v, types.WorkDoneProgressReport) for v in values)
    assert isinstance(values[-1], types.WorkDoneProgressEnd)
    assert values[-1].message == "150 matches"

    # With a word only one file has, the index rules the others out.
    answer = await search(many_client, {"lang": "python", "pattern": "requests.get($$$A)"})
    assert answer["files_searched"] == 1
    assert answer["files_ruled_out"] == 150
