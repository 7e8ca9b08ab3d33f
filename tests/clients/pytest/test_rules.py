"""Project rules from pytest-lsp: `.codecontext/rules/*.yml` (ast-grep's rule format)
become diagnostics (source `codecontext-rules`) on open documents as they change, a rule's
`fix` becomes a quick fix, a changed rule file applies at once, and a broken rule file is
told once, with its line, while the other rules keep working."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from harness import CONFIG, REPO, bounded, start, wait_for

NO_UNWRAP = """\
id: no-unwrap
language: rust
severity: warning
message: "`$X.unwrap()` panics when it fails"
rule:
  pattern: $X.unwrap()
fix: $X.expect("why this cannot fail")
"""

BROKEN = """\
id: bad-kind
language: rust
rule:
  kind: no_such_kind
"""


@pytest.fixture
def rules_root(tmp_path: Path) -> Path:
    root = tmp_path / "rules"
    shutil.copytree(REPO / "fixtures" / "patterns", root)
    rules = root / ".codecontext" / "rules"
    rules.mkdir(parents=True)
    (rules / "no-unwrap.yml").write_text(NO_UNWRAP)
    (rules / "broken.yml").write_text(BROKEN)
    return root.resolve()


@pytest_lsp.fixture(config=CONFIG)
async def rules_client(lsp_client: LanguageClient, rules_root: Path):
    await start(lsp_client, rules_root)
    yield
    await lsp_client.shutdown_session()


def rule_diagnostics(client: LanguageClient, uri: str) -> list[types.Diagnostic]:
    return [d for d in client.diagnostics.get(uri, []) if d.source == "codecontext-rules"]


async def test_rules_become_diagnostics_and_their_fixes_quick_fixes(
    rules_client: LanguageClient, rules_root: Path
):
    path = rules_root / "sample.rs"
    uri = path.as_uri()
    text = path.read_text()
    rules_client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="rust", version=1, text=text)
        )
    )
    await wait_for(
        rules_client,
        types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS,
        lambda: len(rule_diagnostics(rules_client, uri)) == 5,
        "the rule's five hits in sample.rs",
    )
    hits = rule_diagnostics(rules_client, uri)
    first = hits[0]
    assert first.code == "no-unwrap"
    assert first.severity == types.DiagnosticSeverity.Warning
    assert first.message == "`input.trim().parse::<u32>().unwrap()` panics when it fails"
    assert first.range.start == types.Position(line=3, character=12)

    # The broken rule file was told once, with its line; the good rule works regardless.
    def not_loaded() -> list[str]:
        return [m.message for m in rules_client.messages if "do not load" in m.message]

    await wait_for(
        rules_client, types.WINDOW_SHOW_MESSAGE, lambda: len(not_loaded()) >= 1, "the broken rule told"
    )
    told = not_loaded()
    assert len(told) == 1, rules_client.messages
    assert ".codecontext/rules/broken.yml:1: rule `bad-kind`" in told[0] and "no_such_kind" in told[0], told

    actions = await bounded(
        rules_client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=first.range,
                context=types.CodeActionContext(diagnostics=[first]),
            )
        ),
        "textDocument/codeAction",
    )
    assert len(actions) == 1, actions
    action = actions[0]
    assert action.kind == types.CodeActionKind.QuickFix
    assert action.is_preferred is True
    [edit] = action.edit.changes[uri]
    assert edit.range == first.range
    assert edit.new_text == 'input.trim().parse::<u32>().expect("why this cannot fail")'

    # The fix applied as the editor applies it: that hit is gone as the user types.
    rules_client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangePartial(range=edit.range, text=edit.new_text)],
        )
    )
    await wait_for(
        rules_client,
        types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS,
        lambda: len(rule_diagnostics(rules_client, uri)) == 4,
        "four hits once the first is fixed",
    )
    assert all(d.range.start.line != 3 for d in rule_diagnostics(rules_client, uri))

    # A rule file changed on disk applies to the open document at once.
    rule_file = rules_root / ".codecontext" / "rules" / "no-unwrap.yml"
    rule_file.write_text(NO_UNWRAP.replace("$X.unwrap()", "helper($A, $B)").replace(
        'fix: $X.expect("why this cannot fail")\n', ""
    ))
    rules_client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=rule_file.as_uri(), type=types.FileChangeType.Changed)]
        )
    )
    await wait_for(
        rules_client,
        types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS,
        lambda: [d.message for d in rule_diagnostics(rules_client, uri)]
        == ["`helper(self.count, 1)` panics when it fails"],
        "the changed rule's one hit",
    )
    # The broken file, unchanged, is told again on the reload: once per change of rules.
    await wait_for(
        rules_client,
        types.WINDOW_SHOW_MESSAGE,
        lambda: len(not_loaded()) == 2,
        "the broken rule told again after the reload",
    )


async def test_the_rules_request_checks_every_file_and_the_command_agrees(
    rules_client: LanguageClient, rules_root: Path
):
    from test_context import plain

    answer = plain(
        await bounded(
            rules_client.protocol.send_request_async("codecontext/rules", None),
            "codecontext/rules",
        )
    )
    assert answer["rules"] == ["no-unwrap"]
    assert len(answer["errors"]) == 1 and "bad-kind" in answer["errors"][0]
    assert [h["place"] for h in answer["hits"]] == [
        "sample.rs:4:13",
        "sample.rs:6:17",
        "sample.rs:25:17",
        "sample.rs:31:5",
        "sample.rs:31:5",
    ]
    first = answer["hits"][0]
    assert first["uri"] == (rules_root / "sample.rs").as_uri()
    assert first["range"]["start"] == {"line": 3, "character": 12}
    assert first["fix"]["text"] == 'input.trim().parse::<u32>().expect("why this cannot fail")'

    by_command = plain(
        await bounded(
            rules_client.workspace_execute_command_async(
                types.ExecuteCommandParams(command="codecontext.rules", arguments=[{"paths": ["sample.rs"], "limit": 2}])
            ),
            "workspace/executeCommand codecontext.rules",
        )
    )
    assert by_command["hits"] == answer["hits"][:2]
    assert by_command["truncated"] is True
    try:
        await bounded(
            rules_client.protocol.send_request_async("codecontext/rules", {"nope": 1}),
            "codecontext/rules",
        )
    except Exception as e:
        assert "unknown field `nope`" in str(e)
    else:
        raise AssertionError("an unknown field should fail")
