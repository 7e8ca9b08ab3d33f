"""`codecontext/assess` and the `codecontext.assess` command, from pytest-lsp: a proposed
edit judged before it runs, as a `WorkspaceEdit` on the open document or as a diff."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types
from pytest_lsp import LanguageClient

from harness import bounded
from test_context import plain


async def test_an_unsaved_workspace_edit_is_assessed_against_the_open_document(
    assess_client: LanguageClient, assess_root: Path
):
    pricing = assess_root / "shop" / "pricing.py"
    uri = pricing.as_uri()
    text = pricing.read_text()
    assess_client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
        )
    )
    end = len(text.splitlines())
    edit = {
        "changes": {
            uri: [
                {
                    "range": {"start": {"line": end, "character": 0}, "end": {"line": end, "character": 0}},
                    "newText": "\n\ndef computeTax(amount):\n    return amount * 0.2\n",
                }
            ]
        }
    }
    answer = plain(
        await bounded(
            assess_client.protocol.send_request_async("codecontext/assess", {"edit": edit}),
            "codecontext/assess",
        )
    )
    assert answer["files"] == ["shop/pricing.py"]
    [added] = answer["symbols"]
    assert (added["symbol"], added["change"]) == ("shop.pricing.computeTax", "added")
    [finding] = answer["findings"]
    assert finding["kind"] == "naming" and finding["location"] == f"shop/pricing.py:{end + 3}:5"
    assert finding["edit"]["newText"] == "compute_tax"
    conventions = {(c["language"], c["group"]): c["style"] for c in answer["conventions"]}
    assert conventions[("python", "function")] == "snake_case"


async def test_a_diff_through_the_command_finds_the_calls_it_breaks(
    assess_client: LanguageClient,
):
    diff = (
        "--- a/shop/pricing.py\n+++ b/shop/pricing.py\n@@ -8,2 +8,2 @@\n"
        "-def apply_discount(total, rate):\n-    return total * (1 - rate)\n"
        "+def apply_discount(total, rate, floor):\n+    return max(total * (1 - rate), floor)\n"
    )
    answer = plain(
        await bounded(
            assess_client.workspace_execute_command_async(
                types.ExecuteCommandParams(command="codecontext.assess", arguments=[{"edit": diff}])
            ),
            "workspace/executeCommand codecontext.assess",
        )
    )
    broken = sorted(f["location"] for f in answer["findings"] if f["kind"] == "broken-call")
    assert broken == ["shop/cart.py:15:16", "shop/checkout.py:5:25"], answer["findings"]
    [changed] = answer["symbols"]
    assert changed["change"] == "modified" and changed["impact"]["reached"] >= 2
    assert answer["performance"] == [], "one more parameter costs no time"

    # Loops nested one level deeper in a tested function: a predicted slowdown.
    nested = (
        "--- a/shop/pricing.py\n+++ b/shop/pricing.py\n@@ -12,2 +12,6 @@\n def total_price(items):\n"
        "-    return sum(price_of(i) for i in items)\n"
        "+    total = 0\n+    for i in items:\n+        for _ in range(i.count):\n+            total += i.price\n"
        "+    return total\n"
    )
    slower = plain(
        await bounded(
            assess_client.protocol.send_request_async("codecontext/assess", {"edit": nested}),
            "codecontext/assess",
        )
    )
    [prediction] = slower["performance"]
    assert prediction["symbol"] == "shop.pricing.total_price", prediction
    assert [c["kind"] for c in prediction["causes"]] == ["loop-nesting"], prediction
    assert [t["name"] for t in prediction["tests"]] == ["tests/test_pricing.py::test_total_price"], prediction
    assert [f["kind"] for f in slower["findings"]] == ["performance"], slower["findings"]

    for params, says in [
        ({"edit": "not a diff"}, "no `---`/`+++` file headers"),
        ({"edit": diff, "frobnicate": 1}, "unknown field"),
    ]:
        try:
            await bounded(
                assess_client.protocol.send_request_async("codecontext/assess", params),
                "codecontext/assess",
            )
        except Exception as e:  # pygls raises the JSON-RPC error
            assert says in str(e), (params, str(e))
        else:
            raise AssertionError(f"{params} should fail")
