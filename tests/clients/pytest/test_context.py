"""`codecontext/context` and the `codecontext.context` command, from pytest-lsp: the code a
task needs, ranked within a token budget, asked with an editor's position."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types
from pytest_lsp import LanguageClient

from harness import bounded, wait_for


def plain(value):
    """pygls hands back custom results as attribute objects: plain JSON values here."""
    if hasattr(value, "_asdict"):
        value = value._asdict()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


async def test_context_at_an_editor_position_ranks_callees_within_the_budget(
    context_client: LanguageClient, context_root: Path
):
    uri = (context_root / "shop" / "cart.py").as_uri()
    answer = plain(
        await bounded(
            context_client.protocol.send_request_async(
                "codecontext/context",
                {"textDocument": {"uri": uri}, "position": {"line": 13, "character": 8}, "budget": 300},
            ),
            "codecontext/context",
        )
    )
    assert answer["targets"] == ["shop.cart.Cart.total"]
    assert 0 < answer["tokens"] <= 300
    symbols = [i["symbol"] for i in answer["items"]]
    assert symbols[0] == "shop.cart.Cart.total"
    assert "shop.tax.apply_tax" in symbols and "shop.pricing.price_of" in symbols
    assert "shop.banner.shout" not in symbols

    # The same question as a command, with the path:line:col every door takes.
    by_command = plain(
        await bounded(
            context_client.workspace_execute_command_async(
                types.ExecuteCommandParams(
                    command="codecontext.context",
                    arguments=[{"position": "shop/cart.py:14:9", "budget": 300}],
                )
            ),
            "workspace/executeCommand codecontext.context",
        )
    )
    assert by_command["items"] == answer["items"]


async def test_a_bad_context_request_is_an_error_and_the_server_goes_on(
    context_client: LanguageClient, context_root: Path
):
    for params, says in [
        ({"symbols": ["no.such.thing"]}, "no symbol is named"),
        ({"task": "banner", "budget": 5}, "outside"),
        ({"frobnicate": 1}, "unknown field"),
        ({}, "give a target"),
    ]:
        try:
            await bounded(
                context_client.protocol.send_request_async("codecontext/context", params),
                "codecontext/context",
            )
        except Exception as e:  # pygls raises the JSON-RPC error
            assert says in str(e), (params, str(e))
        else:
            raise AssertionError(f"{params} should fail")
    answer = plain(
        await bounded(
            context_client.protocol.send_request_async(
                "codecontext/context", {"task": "the landing page banner", "budget": 400}
            ),
            "codecontext/context",
        )
    )
    assert "shop.banner.render_banner" in answer["targets"]


async def test_a_call_graph_walk_cut_by_its_limit_says_so(context_client: LanguageClient):
    async def callers(limit: int | None, command: bool = False) -> dict:
        ask = {"symbol": "shop.pricing.price_of", "direction": "callers", "depth": 3}
        if limit is not None:
            ask["limit"] = limit
        if command:
            sent = context_client.workspace_execute_command_async(
                types.ExecuteCommandParams(command="codecontext.callers", arguments=[ask])
            )
        else:
            sent = context_client.protocol.send_request_async("codecontext/callers", ask)
        return plain(await bounded(sent, "codecontext/callers"))

    whole = await callers(None)
    names = [i["qualifiedName"] for i in whole["items"]]
    assert whole["truncated"] is False
    assert names[0] == "shop.cart.Cart.total" and len(names) >= 2, names

    cut = await callers(1)
    assert cut["truncated"] is True
    assert cut["items"] == whole["items"][:1]
    # Exactly as many as there are: nothing was left out.
    exact = await callers(len(names), command=True)
    assert exact["truncated"] is False and exact["items"] == whole["items"]


async def test_a_spent_request_budget_answers_what_was_found_marked_truncated(
    context_client: LanguageClient, context_root: Path
):
    ask = {"symbol": "shop.pricing.price_of", "direction": "callers", "depth": 3}

    async def request(method: str, params: dict) -> dict:
        sent = context_client.protocol.send_request_async(method, params)
        return plain(await bounded(sent, method))

    def budget(ms: int) -> None:
        context_client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"codecontext": {"requestBudgetMs": ms}})
        )

    async def references() -> list:
        cart = (context_root / "shop" / "cart.py").as_uri()
        params = types.ReferenceParams(
            text_document=types.TextDocumentIdentifier(uri=cart),
            position=types.Position(line=14, character=24),  # price_of
            context=types.ReferenceContext(include_declaration=False),
        )
        sent = context_client.text_document_references_async(params)
        return await bounded(sent, "textDocument/references")

    assert len(await references()) >= 2
    whole = await request("codecontext/callers", ask)
    assert whole["truncated"] is False and whole["items"], whole
    context = {"symbols": ["shop.cart.Cart.total"], "budget": 300}
    assert (await request("codecontext/context", context))["truncated"] is False

    # A budget spent before the work starts: every walk stops at its first step.
    budget(0)
    cut = await request("codecontext/callers", ask)
    assert cut["truncated"] is True and cut["items"] == [], cut
    assert (await request("codecontext/context", context))["truncated"] is True
    # LSP's own answers have no field for it: the partial answer comes with a warning.
    assert list(await references()) == []
    cart = (context_root / "shop" / "cart.py").as_uri()
    hover = await bounded(
        context_client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=cart),
                position=types.Position(line=14, character=24),
            )
        ),
        "textDocument/hover",
    )
    assert "at least 0 references" in hover.contents.value, hover.contents.value
    def warned() -> bool:
        return any(
            "textDocument/references stopped at its 0 ms budget" in m.message
            and m.type == types.MessageType.Warning
            for m in context_client.log_messages
        )

    await wait_for(context_client, types.WINDOW_LOG_MESSAGE, warned, "the budget's warning")

    # A budget that lasts gives the whole answer again.
    budget(60_000)
    assert await request("codecontext/callers", ask) == whole
