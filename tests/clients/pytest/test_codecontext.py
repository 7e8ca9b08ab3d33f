"""codecontext serve --stdio, driven by pytest-lsp (pygls' client) over fixtures/python.

Positions and answers come from fixtures/python/expect.txt; where a qualified name is
defined is read from the fixture's source (see expectations.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from harness import FIXTURE, bounded, wait_for
from expectations import (
    Place,
    expectations,
    line_text,
    locate,
    lsp_position,
    place_of,
    target_places,
    uri,
)

DEFS = expectations(FIXTURE, "def")
REFS = expectations(FIXTURE, "refs")


def doc(root: Path, path: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri=uri(root, path))


# --- initialize ---------------------------------------------------------------------


async def test_initialize_advertises_utf16_incremental_sync_and_navigation(
    client: LanguageClient,
):
    result: types.InitializeResult = client.initialize_result
    caps = result.capabilities
    # VS Code 1.65 offers no positionEncodings: UTF-16 is the only choice.
    assert caps.position_encoding == types.PositionEncodingKind.Utf16
    sync = caps.text_document_sync
    assert isinstance(sync, types.TextDocumentSyncOptions), sync
    assert sync.open_close is True
    assert sync.change == types.TextDocumentSyncKind.Incremental
    for provider in (
        "definition_provider",
        "references_provider",
        "hover_provider",
        "document_symbol_provider",
        "workspace_symbol_provider",
    ):
        assert getattr(caps, provider), f"{provider} not advertised: {caps}"
    assert result.server_info is not None and result.server_info.name == "codecontext"


async def test_indexing_progress_begins_reports_and_ends_on_a_token_the_server_created(
    client: LanguageClient,
):
    # pytest-lsp warns (an error here, see pytest.ini) on a token that was not created
    # with window/workDoneProgress/create first; every token it recorded was created.
    assert client.progress_reports, "no work-done progress at all"
    for token, values in client.progress_reports.items():
        kinds = [v.kind for v in values]
        assert kinds[0] == "begin" and kinds[-1] == "end", f"{token}: {kinds}"
        assert kinds.count("end") == 1, f"{token}: {kinds}"
        percentages = [v.percentage for v in values if v.kind == "report"]
        assert percentages == sorted(percentages), f"{token}: {percentages}"


async def test_file_watchers_are_registered_dynamically(client: LanguageClient):
    # VS Code declares dynamic registration for watched files: the server asks for them.
    await bounded(client.registered.wait(), "client/registerCapability")
    methods = [r.method for r in client.registrations]
    assert types.WORKSPACE_DID_CHANGE_WATCHED_FILES in methods, methods


# --- navigation, read-only on fixtures/python ----------------------------------------


@pytest.mark.parametrize("expect", DEFS, ids=str)
async def test_definition_matches_expect_txt(client: LanguageClient, fixture_root, expect):
    result = await client.text_document_definition_async(
        types.DefinitionParams(
            text_document=doc(fixture_root, expect.at.path),
            position=lsp_position(fixture_root, expect.at),
        )
    )
    got = target_places(fixture_root, result)
    if expect.answer == "none":
        assert got == [], f"{expect}: got {got}"
    elif expect.answer.startswith("local "):
        name = expect.answer.removeprefix("local ")
        assert len(got) == 1, f"{expect}: got {got}"
        (place,) = got
        assert place.path == expect.at.path, f"{expect}: got {place}"
        text = line_text(fixture_root, place)[place.col - 1 :]
        assert text.startswith(name), f"{expect}: got {place}: {text!r}"
    else:
        want = locate(fixture_root, expect.answer)
        assert want is not None, f"cannot find {expect.answer} in the fixture's source"
        assert got == [want], f"{expect}: want {want}, got {[str(p) for p in got]}"


async def test_definition_of_an_imported_name_leads_to_its_class(
    client: LanguageClient, fixture_root
):
    # def main.py:8:12 => shop.services.pricing.Cart, spelled out once.
    result = await client.text_document_definition_async(
        types.DefinitionParams(
            text_document=doc(fixture_root, "main.py"),
            position=lsp_position(fixture_root, Place("main.py", 8, 12)),
        )
    )
    assert target_places(fixture_root, result) == [
        Place("shop/services/pricing.py", 16, 7)
    ]
    # With linkSupport the answer is a LocationLink whose origin is the name clicked.
    (link,) = result
    assert isinstance(link, types.LocationLink), link
    assert link.origin_selection_range == types.Range(
        start=types.Position(line=7, character=11), end=types.Position(line=7, character=15)
    )


@pytest.mark.parametrize("expect", REFS, ids=str)
async def test_references_match_expect_txt(client: LanguageClient, fixture_root, expect):
    result = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=doc(fixture_root, expect.at.path),
            position=lsp_position(fixture_root, expect.at),
            context=types.ReferenceContext(include_declaration=False),
        )
    )
    got = sorted(place_of(fixture_root, loc.uri, loc.range.start) for loc in result or [])
    want = sorted(Place.parse(p) for p in expect.answer.split())
    assert [str(p) for p in got] == [str(p) for p in want]


async def test_references_of_clamp_with_declaration(client: LanguageClient, fixture_root):
    at = Place("shop/util.py", 6, 5)
    result = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=doc(fixture_root, at.path),
            position=lsp_position(fixture_root, at),
            context=types.ReferenceContext(include_declaration=True),
        )
    )
    got = {str(place_of(fixture_root, loc.uri, loc.range.start)) for loc in result}
    assert got == {
        "shop/util.py:6:5",
        "shop/models/product.py:3:20",
        "shop/models/product.py:12:22",
        "shop/services/pricing.py:13:23",
    }


async def test_hover_shows_the_signature_and_doc(client: LanguageClient, fixture_root):
    # `util.clamp(...)` in pricing.py, a use through a module import.
    at = Place("shop/services/pricing.py", 13, 23)
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=doc(fixture_root, at.path),
            position=lsp_position(fixture_root, at),
        )
    )
    assert hover is not None
    assert isinstance(hover.contents, types.MarkupContent), hover.contents
    assert hover.contents.kind == types.MarkupKind.Markdown
    assert "def clamp(value, low, high)" in hover.contents.value, hover.contents.value
    assert "Keep value within [low, high]." in hover.contents.value
    # The range is the word hovered.
    assert hover.range == types.Range(
        start=types.Position(line=12, character=22), end=types.Position(line=12, character=27)
    )


async def test_hover_on_a_builtin_is_empty(client: LanguageClient, fixture_root):
    at = Place("shop/util.py", 8, 12)  # `max`: def ... => none
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=doc(fixture_root, at.path),
            position=lsp_position(fixture_root, at),
        )
    )
    assert hover is None


async def test_workspace_symbol_finds_total_price(client: LanguageClient, fixture_root):
    result = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="total_price"))
    assert result, "no symbols"
    found = [
        (s.name, s.kind, str(place_of(fixture_root, s.location.uri, s.location.range.start)))
        for s in result
    ]
    assert (
        "total_price",
        types.SymbolKind.Function,
        "shop/services/pricing.py:7:5",
    ) in found, found


async def test_document_symbols_are_hierarchical(client: LanguageClient, fixture_root):
    result = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=doc(fixture_root, "shop/services/pricing.py"))
    )
    tree = {
        s.name: sorted((c.name, c.kind.name) for c in s.children or []) for s in result
    }
    assert tree == {
        "total_price": [],
        "Cart": [
            ("__init__", "Method"),
            ("add", "Method"),
            ("items", "Field"),
            ("pricer", "Field"),
            ("total", "Method"),
        ],
        "Pricer": [("price", "Method")],
    }, tree


# --- edits, on a copy --------------------------------------------------------------


def open_document(client: LanguageClient, root: Path, path: str) -> str:
    text = (root / path).read_text(encoding="utf-8")
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri(root, path), language_id="python", version=1, text=text
            )
        )
    )
    return text


def change(client: LanguageClient, root: Path, path: str, version: int, edits):
    """Sends incremental edits: (start line, start char, end line, end char, text)."""
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(
                uri=uri(root, path), version=version
            ),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(
                        start=types.Position(line=sl, character=sc),
                        end=types.Position(line=el, character=ec),
                    ),
                    text=text,
                )
                for (sl, sc, el, ec, text) in edits
            ],
        )
    )


async def test_did_change_adds_a_function_that_document_symbol_sees(
    scratch_client: LanguageClient, scratch_root
):
    client, root = scratch_client, scratch_root
    text = open_document(client, root, "shop/util.py")
    end = len(text.splitlines())
    added = "\n\ndef rounded(amount, digits=2):\n    return round(amount, digits)\n"
    change(client, root, "shop/util.py", 2, [(end, 0, end, 0, added)])
    # Requests are answered after every notification sent before them is applied.
    result = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=doc(root, "shop/util.py"))
    )
    names = {s.name: s for s in result}
    assert "rounded" in names, sorted(names)
    assert names["rounded"].kind == types.SymbolKind.Function
    assert names["rounded"].selection_range.start == types.Position(line=end + 2, character=4)
    assert {"TAX_RATE", "clamp", "with_tax"} <= set(names), sorted(names)
    # The edit reached the workspace index too, not only the outline.
    found = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="rounded"))
    assert [s.name for s in found or []] == ["rounded"]
    # Nothing was written to disk.
    assert (root / "shop/util.py").read_text(encoding="utf-8") == text


async def definition_after_an_emoji(client: LanguageClient, root: Path, width) -> None:
    """Line 8 of main.py, `    cart = Cart()`, becomes the line below, where the emoji is
    one character, two UTF-16 units, four UTF-8 bytes. `width(text)` counts the units of
    the negotiated encoding."""
    open_document(client, root, "main.py")
    line = '    label = "\N{GRINNING FACE}"; spare = Cart()'
    change(client, root, "main.py", 2, [(7, 0, 7, len("    cart = Cart()"), line)])
    character = width(line[: line.index("Cart")])
    result = await client.text_document_definition_async(
        types.DefinitionParams(
            text_document=doc(root, "main.py"),
            position=types.Position(line=7, character=character + 1),
        )
    )
    assert result, f"no definition at character {character + 1} of {line!r}"
    (link,) = result
    assert link.target_uri == uri(root, "shop/services/pricing.py")
    assert link.target_selection_range.start == types.Position(line=15, character=6)
    assert link.origin_selection_range == types.Range(
        start=types.Position(line=7, character=character),
        end=types.Position(line=7, character=character + 4),
    )


async def test_positions_after_an_edit_count_utf16_units(
    scratch_client: LanguageClient, scratch_root
):
    await definition_after_an_emoji(
        scratch_client, scratch_root, lambda text: len(text.encode("utf-16-le")) // 2
    )


async def test_syntax_error_is_published_then_cleared(
    scratch_client: LanguageClient, scratch_root
):
    client, root = scratch_client, scratch_root
    path = "shop/util.py"
    key = uri(root, path)
    open_document(client, root, path)

    def codecontext_errors():
        return [d for d in client.diagnostics.get(key, []) if d.source == "codecontext"]

    # `def with_tax(amount):` loses its closing parenthesis.
    change(client, root, path, 2, [(10, 19, 10, 20, "")])
    await wait_for(
        client,
        types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS,
        lambda: bool(codecontext_errors()),
        f"codecontext diagnostics for {path}",
    )
    errors = codecontext_errors()
    assert all(d.severity == types.DiagnosticSeverity.Error for d in errors), errors
    assert any(d.range.start.line in (10, 11) for d in errors), errors

    change(client, root, path, 3, [(10, 19, 10, 19, ")")])
    await wait_for(
        client,
        types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS,
        lambda: key in client.diagnostics and not client.diagnostics[key],
        f"the diagnostics of {path} to clear",
    )


async def test_utf8_is_chosen_when_the_client_offers_it_and_positions_count_bytes(
    utf8_client: LanguageClient, scratch_root
):
    caps = utf8_client.initialize_result.capabilities
    assert caps.position_encoding == types.PositionEncodingKind.Utf8
    await definition_after_an_emoji(utf8_client, scratch_root, lambda text: len(text.encode()))
