"""`codecontext mcp` driven by the PyPI `mcp` client (2.x), as an assistant drives it: over
stdio, with the legacy handshake (`initialize`, 2025-11-25) and the current one
(`server/discover`, 2026-07-28). The client itself checks every answer against the tool's
`outputSchema`; these tests check what the answers say."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

ROOT = Path(__file__).resolve().parents[3]
SERVER = Path(os.environ.get("CODECONTEXT_BIN", ROOT / "target" / "debug" / "codecontext"))
FIXTURES = ROOT / "fixtures"

TOOLS = {
    "assess_edit",
    "project_report",
    "search_pattern",
    "check_rules",
    "usage_patterns",
    "find_symbol",
    "symbol_info",
    "outline",
    "find_definition",
    "find_references",
    "call_graph",
    "context_for_task",
    "execute",
    "verify_edit",
    "get_run",
    "history",
    "recall",
    "remember",
    "forget",
    "feedback",
}
GRAPH_TOOLS = {"find_symbol", "symbol_info", "outline", "find_definition", "find_references", "call_graph", "context_for_task"}
READ_ONLY = {"assess_edit", "search_pattern", "check_rules", "usage_patterns", "find_symbol", "symbol_info", "outline", "find_definition", "find_references", "call_graph", "context_for_task", "get_run", "history", "recall"}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """Where the server keeps its stores: a temporary folder, not the user's cache."""
    path = tmp_path / "home"
    path.mkdir()
    return path


def copy(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name.replace("/", "-")
    shutil.copytree(FIXTURES / name, target)
    return target


@asynccontextmanager
async def session(
    root: Path, home: Path, modern: bool = False, daemon: bool = True, env: dict[str, str] | None = None
):
    """A session through the folder's daemon (the default), or in the server's own process."""
    extra = env or {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODECONTEXT_")}
    env.update({"CODECONTEXT_HOME": str(home), "CODECONTEXT_LOG": "warn", **extra})
    args = ["mcp", str(root)] + ([] if daemon else ["--no-daemon"])
    params = StdioServerParameters(command=str(SERVER), args=args, env=env)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as s:
            if modern:
                await s.discover()
            else:
                await s.initialize()
            await s.list_tools()
            yield s


async def call(s: ClientSession, name: str, arguments: dict, progress_callback=None) -> dict:
    result = await s.call_tool(name, arguments, progress_callback=progress_callback)
    assert not result.is_error, f"{name}({arguments}): {result.content}"
    answer = result.structured_content
    # The text rendering says the same.
    assert json.loads(result.content[0].text) == answer
    fresh = answer["freshness"]
    assert fresh["indexVersion"] >= 0 and fresh["pendingFiles"] >= 0, fresh
    if name in GRAPH_TOOLS:
        # These wait for the first indexing, and answer from all of it.
        assert fresh["pendingFiles"] == 0 and fresh["indexVersion"] > 0, fresh
    return answer


async def error(s: ClientSession, name: str, arguments: dict) -> str:
    result = await s.call_tool(name, arguments)
    assert result.is_error, f"{name}({arguments}) should fail: {result.structured_content}"
    return json.loads(result.content[0].text)["error"]


@pytest.mark.parametrize("modern", [False, True], ids=["legacy-2025-11-25", "current-2026-07-28"])
async def test_navigation_tools_answer_from_the_index(tmp_path: Path, home: Path, modern: bool) -> None:
    root = copy("python", tmp_path)
    async with session(root, home, modern) as s:
        tools = {t.name: t for t in (await s.list_tools()).tools}
        assert set(tools) == TOOLS
        for name, tool in tools.items():
            assert tool.output_schema and "freshness" in tool.output_schema["properties"], name
            assert tool.description and len(tool.description) > 80, name
            assert tool.annotations.read_only_hint == (name in READ_ONLY), name
            assert tool.annotations.destructive_hint is False, name

        found = await call(s, "find_symbol", {"query": "Cart", "mode": "exact"})
        assert [x["qualifiedName"] for x in found["symbols"]] == ["shop.services.pricing.Cart"]
        assert found["symbols"][0]["location"] == "shop/services/pricing.py:16:7"
        methods = await call(s, "find_symbol", {"query": "total", "kind": "method"})
        assert methods["symbols"] and all(x["kind"] == "method" for x in methods["symbols"])

        by_position = await call(s, "find_definition", {"position": "main.py:8:12"})
        assert by_position["how"] == "exact"
        assert by_position["definitions"][0]["qualifiedName"] == "shop.services.pricing.Cart"
        by_name = await call(s, "find_definition", {"symbol": "shop.services.pricing.Cart"})
        assert by_name["definitions"] == by_position["definitions"]

        refs = await call(s, "find_references", {"position": "shop/util.py:6:5"})
        places = [r["location"] for r in refs["references"]]
        assert "shop/models/product.py:12:22" in places and "shop/services/pricing.py:13:23" in places
        assert refs["total"] == len(places) and refs["nextCursor"] is None

        info = await call(s, "symbol_info", {"symbol": "shop.services.pricing.Cart", "body": True})
        assert info["symbol"]["kind"] == "class"
        assert info["references"] >= 1
        assert info["body"].startswith("class Cart")

        outline = await call(s, "outline", {"path": "shop/services/pricing.py"})
        cart = next(i for i in outline["items"] if i["name"] == "Cart")
        assert cart["line"] == 16 and any(c["kind"] == "method" for c in cart["children"])

        callers = await call(s, "call_graph", {"position": "shop/util.py:6:5", "direction": "callers", "depth": 2})
        assert callers["items"], callers
        assert all(i["how"] in ("exact", "inferred", "ambiguous") for i in callers["items"])
        assert callers["complete"] == (callers["unresolved"] == 0 and all(i["how"] == "exact" for i in callers["items"]))
        # clamp calls the builtins max and min, which are not in the project: what it
        # calls is known only in part, and the answer says so.
        callees = await call(s, "call_graph", {"position": "shop/util.py:6:5", "direction": "callees"})
        assert callees["unresolved"] >= 2 and callees["complete"] is False, callees
        impact = await call(s, "call_graph", {"symbol": "shop.services.pricing.Cart", "direction": "impact"})
        assert any(i["symbol"].startswith("main") for i in impact["items"]), impact


async def test_context_for_task_ranks_within_the_budget(tmp_path: Path, home: Path) -> None:
    root = copy("context", tmp_path)
    async with session(root, home) as s:
        answer = await call(s, "context_for_task", {"position": "shop/cart.py:14:9", "budget": 300})
        assert answer["targets"] == ["shop.cart.Cart.total"]
        assert 0 < answer["tokens"] <= 300 and answer["budget"] == 300
        assert answer["text"] == "".join(i["text"] for i in answer["items"])
        symbols = [i["symbol"] for i in answer["items"]]
        assert symbols[0] == "shop.cart.Cart.total" and answer["items"][0]["form"] == "body"
        callee = answer["items"][symbols.index("shop.tax.apply_tax")]
        assert [w["relation"] for w in callee["why"]] == ["target", "calls"]
        assert "shop.banner.shout" not in symbols
        # A smaller budget: fewer tokens, never more than asked.
        small = await call(s, "context_for_task", {"symbols": ["shop.cart.Cart.total"], "budget": 80})
        assert small["tokens"] <= 80 and len(small["items"]) < len(answer["items"])
        # A task in words, and the project's map.
        task = await call(s, "context_for_task", {"task": "the landing page banner", "budget": 500})
        assert "shop.banner.render_banner" in task["targets"]
        project = await call(s, "context_for_task", {"map": True, "budget": 200})
        assert project["items"] and all(i["form"] == "skeleton" for i in project["items"])
        assert "no symbol is named" in await error(s, "context_for_task", {"symbols": ["nope.nothing"]})
        assert "give a target" in await error(s, "context_for_task", {})
        assert "outside" in await error(s, "context_for_task", {"task": "banner", "budget": 5})


async def test_long_answers_come_in_pages_with_a_cursor(tmp_path: Path, home: Path) -> None:
    root = tmp_path / "many"
    root.mkdir()
    lines = ["def target():", "    return 1", ""]
    lines += [f"def caller_{i:04d}():\n    return target()\n" for i in range(1500)]
    (root / "big.py").write_text("\n".join(lines))
    async with session(root, home) as s:
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            args = {"symbol": "big.target"}
            if cursor:
                args["cursor"] = cursor
            answer = await call(s, "find_references", args)
            assert len(json.dumps(answer["references"], separators=(",", ":"))) <= 32_000
            seen += [r["location"] for r in answer["references"]]
            pages += 1
            cursor = answer["nextCursor"]
            if cursor is None:
                break
        assert pages >= 2
        assert len(seen) == len(set(seen)) == 1500 == answer["total"]
        assert answer["truncated"] is False
        # The same question gives the same first page.
        again = await call(s, "find_references", {"symbol": "big.target"})
        assert [r["location"] for r in again["references"]] == seen[: len(again["references"])]
        message = await error(s, "find_references", {"symbol": "big.target", "cursor": "nonsense"})
        assert "nextCursor" in message


async def test_a_spent_request_budget_answers_what_was_found_marked_truncated(
    tmp_path: Path, home: Path
) -> None:
    root = tmp_path / "many"
    root.mkdir()
    lines = ["def target():", "    return 1", ""]
    lines += [f"def caller_{i:03d}():\n    return target()\n" for i in range(200)]
    (root / "big.py").write_text("\n".join(lines))
    questions = [
        ("find_references", {"symbol": "big.target"}, "references"),
        ("call_graph", {"symbol": "big.target", "direction": "callers"}, "items"),
        ("context_for_task", {"symbols": ["big.target"], "budget": 300}, "items"),
    ]
    async with session(root, home) as s:
        whole = {name: await call(s, name, args) for name, args, _ in questions}
        info = await call(s, "symbol_info", {"symbol": "big.target"})
        assert info["truncated"] is False and info["references"] == 200, info
    assert all(answer["truncated"] is False for answer in whole.values()), whole
    assert whole["find_references"]["total"] == 200 and whole["call_graph"]["complete"]

    # A server whose requests may take no time: the walks stop at their first step.
    async with session(root, home, daemon=False, env={"CODECONTEXT_REQUEST_BUDGET_MS": "0"}) as s:
        for name, args, items in questions:
            answer = await call(s, name, args)
            assert answer["truncated"] is True, (name, answer)
            assert len(answer[items]) < len(whole[name][items]), (name, answer)
        info = await call(s, "symbol_info", {"symbol": "big.target"})
        assert info["truncated"] is True and info["references"] < 200, info
        cut = await call(s, "call_graph", {"symbol": "big.target", "direction": "callers"})
        assert cut["complete"] is False and cut["items"] == []
        # Finding the target by name is not cut: the search keeps the best name's symbols.
        found = await call(s, "find_symbol", {"query": "target", "mode": "exact"})
        assert [x["qualifiedName"] for x in found["symbols"]] == ["big.target"], found


async def test_assess_edit_names_the_broken_calls_and_the_clean_change(tmp_path: Path, home: Path) -> None:
    root = copy("assess", tmp_path)
    breaks = (
        "--- a/shop/pricing.py\n+++ b/shop/pricing.py\n@@ -8,2 +8,2 @@\n"
        "-def apply_discount(total, rate):\n-    return total * (1 - rate)\n"
        "+def apply_discount(total, rate, floor):\n+    return max(total * (1 - rate), floor)\n"
    )
    async with session(root, home) as s:
        answer = await call(s, "assess_edit", {"diff": breaks})
        broken = sorted(f["location"] for f in answer["findings"] if f["kind"] == "broken-call")
        assert broken == ["shop/cart.py:15:16", "shop/checkout.py:5:25"], answer["findings"]
        # The same edit as new contents.
        text = (root / "shop" / "pricing.py").read_text()
        tidy = text.replace("return item.price * item.count", "return item.count * item.price")
        clean = await call(s, "assess_edit", {"edits": [{"path": "shop/pricing.py", "content": tidy}]})
        assert clean["findings"] == [], clean["findings"]
        [changed] = clean["symbols"]
        assert changed["symbol"] == "shop.pricing.price_of"
        assert "tests.test_pricing.test_price_of" in changed["impact"]["tests"]
        # A call of a looping function, added inside a loop: predicted slower.
        cart = (root / "shop" / "cart.py").read_text()
        calls = cart.replace("sum(price_of(i) for i", "sum(total_price([i]) for i")
        slower = await call(s, "assess_edit", {"edits": [{"path": "shop/cart.py", "content": calls}]})
        [prediction] = slower["performance"]
        assert prediction["symbol"] == "shop.cart.Cart.total", prediction
        # The call, and the one-item list built for it on each iteration.
        [call_in_loop, allocation] = prediction["causes"]
        assert call_in_loop["kind"] == "call-in-loop", call_in_loop
        assert call_in_loop["location"] == "shop/cart.py:15:35", call_in_loop
        assert allocation["kind"] == "allocation-in-loop", allocation
        assert allocation["location"] == "shop/cart.py:15:47", allocation
        assert "no `---`/`+++` file headers" in await error(s, "assess_edit", {"diff": "not a diff"})
        assert "one of them" in await error(s, "assess_edit", {})


async def test_assess_edit_names_the_calls_that_pass_none_to_what_the_edit_dereferences(
    tmp_path: Path, home: Path
) -> None:
    root = copy("assess", tmp_path)
    (root / "shop" / "notify.py").write_text("def send(message, timeout=None):\n    return message\n")
    (root / "shop" / "alerts.py").write_text(
        "from shop.notify import send\n\n\ndef ping():\n    return send('ping', None)\n"
    )
    unchecked = "def send(message, timeout=None):\n    return message * timeout.count\n"
    checked = "def send(message, timeout=None):\n    return message * (timeout.count if timeout else 1)\n"
    async with session(root, home) as s:
        answer = await call(s, "assess_edit", {"edits": [{"path": "shop/notify.py", "content": unchecked}]})
        [finding] = [f for f in answer["findings"] if f["kind"] == "null-dereference"]
        assert finding["location"] == "shop/notify.py:2:22", finding
        assert "1 call passes it `None`: shop/alerts.py:5:12" in finding["message"], finding
        answer = await call(s, "assess_edit", {"edits": [{"path": "shop/notify.py", "content": checked}]})
        assert not [f for f in answer["findings"] if f["kind"] == "null-dereference"], answer["findings"]


async def test_project_report_answers_its_data_and_writes_the_page(tmp_path: Path, home: Path) -> None:
    root = copy("assess", tmp_path)
    env = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_AUTHOR_NAME": "Dev",
           "GIT_AUTHOR_EMAIL": "dev@example.com", "GIT_COMMITTER_NAME": "Dev",
           "GIT_COMMITTER_EMAIL": "dev@example.com"}
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "Start"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)
    cart = root / "shop" / "cart.py"
    cart.write_text(cart.read_text().replace("self.items = []\n\n    def add", "self.items = list()\n\n    def add"))
    subprocess.run(["git", "commit", "-q", "-am", "Fix the cart"], cwd=root, env=env, check=True)
    async with session(root, home) as s:
        answer = await call(s, "project_report", {})
        assert answer["commits"] == 2
        top = answer["hotspots"][0]
        assert (top["path"], top["changes"], top["fixes"]) == ("shop/cart.py", 2, 1), answer["hotspots"]
        assert "written" not in answer and "html" not in answer
        written = await call(s, "project_report", {"out": "report.html"})
        assert written["written"] == str(root.resolve() / "report.html")
        assert '<section id="dependencies">' in (root / "report.html").read_text()
        assert "unknown field" in await error(s, "project_report", {"nope": 1})
        assert "cannot write" in await error(s, "project_report", {"out": "no/such/dir/report.html"})


async def test_search_pattern_finds_code_by_its_shape(tmp_path: Path, home: Path) -> None:
    root = copy("patterns", tmp_path)
    async with session(root, home) as s:
        answer = await call(s, "search_pattern", {"lang": "python", "pattern": "requests.get($$$ARGS)"})
        assert [m["place"] for m in answer["matches"]] == ["sample.py:5:12", "sample.py:9:12"]
        assert answer["matches"][1]["captures"]["ARGS"]["text"] == "url, timeout=5"
        assert answer["matches"][1]["symbol"] == "sample.fetch_with_timeout"
        # A rule with a constraint: `unwrap()` only inside an `impl`.
        answer = await call(s, "search_pattern", {
            "lang": "rust",
            "rule": {"rule": {"pattern": "$X.unwrap()", "inside": {"kind": "impl_item", "stopBy": "end"}}},
        })
        assert [m["text"] for m in answer["matches"]] == ["fallible().unwrap()"]
        answer = await call(s, "search_pattern", {"lang": "rust", "pattern": "$X.unwrap()", "limit": 1})
        assert len(answer["matches"]) == 1 and answer["truncated"] is True
        assert "is not valid rust" in await error(s, "search_pattern", {"lang": "rust", "pattern": "fn ( {"})
        assert "unknown language" in await error(s, "search_pattern", {"lang": "cobol", "pattern": "$X"})
        assert "exactly one of" in await error(s, "search_pattern", {"lang": "rust"})


async def test_usage_patterns_says_how_a_function_is_called(tmp_path: Path, home: Path) -> None:
    root = copy("usages", tmp_path)
    async with session(root, home) as s:
        answer = await call(s, "usage_patterns", {"symbol": "fetch"})
        assert (answer["symbol"], answer["calls"]) == ("client.fetch", 5)
        assert answer["summary"][0] == "4 of 5 calls pass `timeout=`; 1 do not: app.py:21:5"
        assert answer == await call(s, "usage_patterns", {"position": "client.py:1:5"})
        assert "no function or method" in await error(s, "usage_patterns", {"symbol": "nope"})


async def test_check_rules_applies_the_projects_rules(tmp_path: Path, home: Path) -> None:
    root = copy("patterns", tmp_path)
    rules = root / ".codecontext" / "rules"
    rules.mkdir(parents=True)
    (rules / "python.yml").write_text(
        "id: print-call\nlanguage: python\nseverity: error\nmessage: no print($$$A)\n"
        "rule:\n  pattern: print($$$A)\nfix: log($$$A)\n"
    )
    async with session(root, home) as s:
        answer = await call(s, "check_rules", {})
        assert answer["rules"] == ["print-call"] and answer["errors"] == []
        [hit] = answer["hits"]
        assert hit["place"] == "sample.py:28:5"
        assert (hit["rule"], hit["severity"], hit["message"]) == ("print-call", "error", 'no print(fetch("https://localhost"))')
        assert hit["fix"]["text"] == 'log(fetch("https://localhost"))'
        assert (await call(s, "check_rules", {"paths": ["sample.rs"]}))["hits"] == []
        assert "unknown field" in await error(s, "check_rules", {"nope": 1})


async def test_memory_remembers_recalls_and_forgets_decisions(tmp_path: Path, home: Path) -> None:
    root = copy("memory", tmp_path)
    (root / "docs" / "adr" / "0009-huge.md").write_text("# 9. Huge\n\n" + "x" * 300_000)
    async with session(root, home) as s:
        answer = await call(s, "recall", {"symbol": "charge"})
        statuses = {m["id"]: m["status"] for m in answer["memories"]}
        assert statuses == {"adr:docs/adr/0002-amounts-in-cents.md": "current", "adr:docs/adr/0001-amounts-as-floats.md": "superseded"}
        record = next(m for m in answer["memories"] if m["status"] == "current")
        assert {a["name"] for a in record["anchors"]} == {"billing.charge", "billing.refund"}
        assert answer["skipped"][0]["path"] == "docs/adr/0009-huge.md"
        assert "limit" in answer["skipped"][0]["reason"]

        remembered = await call(
            s, "remember", {"kind": "preference", "text": "Amounts are named in cents", "files": ["billing.py"]}
        )
        assert remembered["kind"] == "preference" and remembered["status"] == "current"
        assert remembered["anchors"] == [{"kind": "file", "name": "billing.py", "drift": "same"}]
        by_file = await call(s, "recall", {"file": "billing.py"})
        assert remembered["id"] in {m["id"] for m in by_file["memories"]}
        for _ in range(3):
            fed = await call(s, "feedback", {"about": "assess.naming", "verdict": "rejected"})
        assert fed["preference"]["about"] == "assess.naming"

        assert "no symbol named `nope`" in await error(s, "remember", {"kind": "decision", "text": "x", "symbols": ["nope"]})
        assert "unknown field" in await error(s, "recall", {"nope": 1})
        assert "no memory" in await error(s, "forget", {"id": "m-000000000000"})

    # Another server on the same folder finds it; forgetting it there holds.
    async with session(root, home, daemon=False) as s:
        found = await call(s, "recall", {"query": "cents"})
        assert remembered["id"] in {m["id"] for m in found["memories"]}
        assert (await call(s, "forget", {"id": remembered["id"]}))["status"] == "forgotten"
        found = await call(s, "recall", {"query": "cents"})
        assert remembered["id"] not in {m["id"] for m in found["memories"]}


def git(root: Path, tick: int, *args: str, author: str = "Ada <ada@example.com>") -> None:
    """git in `root` at a fixed time, whatever the machine's config."""
    name, email = author.removesuffix(">").split(" <")
    date = f"2026-01-01T00:00:{tick:02d}Z"
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
    }
    git_args = ["git", "-C", str(root), "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args]
    subprocess.run(git_args, check=True, env=env, capture_output=True)


async def test_recall_gives_a_symbols_change_log_and_each_authors_style(tmp_path: Path, home: Path) -> None:
    root = copy("memory", tmp_path)
    git(root, 1, "init", "-q")
    git(root, 1, "add", ".")
    git(root, 1, "commit", "-qm", "billing: first")
    billing = root / "billing.py"
    billing.write_text(billing.read_text().replace("2 ** attempt", "3 * attempt"))
    git(root, 2, "commit", "-qam", "retry: linear", author="Bob <bob@example.com>")
    async with session(root, home) as s:
        answer = await call(s, "recall", {"symbol": "retry_delay"})
        assert answer["historyComplete"] is True
        [symbol] = answer["changes"]
        assert [(c["summary"], c["how"], c["author"]) for c in symbol["commits"]] == [
            ("retry: linear", "modified", "Bob"),
            ("billing: first", "added", "Ada"),
        ]
        assert symbol["performance"]["shifts"] == []
        project = await call(s, "recall", {})
        [python] = project["style"]
        assert {a["author"]: a["commits"] for a in python["authors"]} == {"Ada": 1, "Bob": 1}
        ada = next(a for a in python["authors"] if a["author"] == "Ada")
        assert ada["habits"]["quotes"]["value"] == "double"
        assert project["habits"]["runs"] == 0


async def test_bad_input_is_an_error_result_and_the_session_goes_on(tmp_path: Path, home: Path) -> None:
    root = copy("python", tmp_path)
    # In the server's own process (--no-daemon): the same answers.
    async with session(root, home, daemon=False) as s:
        assert "not an indexed file" in await error(s, "find_definition", {"position": "nope.py:1:1"})
        assert "past its end" in await error(s, "find_definition", {"position": "main.py:999:1"})
        assert "FILE:LINE:COL" in await error(s, "find_references", {"position": "main.py"})
        assert "bad arguments" in await error(s, "find_symbol", {"query": 5})
        assert "not both" in await error(s, "find_definition", {"position": "main.py:8:12", "symbol": "x"})
        assert "no symbol is named" in await error(s, "symbol_info", {"symbol": "no.such.thing"})
        assert "no tool is named" in await error(s, "frobnicate", {})
        message = await error(s, "verify_edit", {"diff": "this is not a diff"})
        assert "diff" in message.lower(), message
        assert "unknown language" in await error(s, "execute", {"language": "cobol", "code": "x"})
        # Still serving.
        found = await call(s, "find_symbol", {"query": "Cart", "mode": "exact"})
        assert found["symbols"]


async def test_ten_calls_in_parallel(tmp_path: Path, home: Path) -> None:
    root = copy("python", tmp_path)
    async with session(root, home) as s:
        calls = [call(s, "find_symbol", {"query": q}) for q in ["Cart", "total", "price", "main", "util"]]
        calls += [call(s, "find_references", {"position": "shop/util.py:6:5"}) for _ in range(3)]
        calls += [call(s, "outline", {"path": "main.py"}), call(s, "history", {})]
        answers = await asyncio.gather(*calls)
        assert len(answers) == 10
        assert answers[5] == answers[6] == answers[7]


async def test_execute_verify_and_history(tmp_path: Path, home: Path) -> None:
    root = copy("verify/python", tmp_path)
    before = (root / "calc.py").read_text()
    async with session(root, home) as s:
        ran = await call(s, "execute", {"language": "python", "code": "print(6 * 7)"})
        assert ran["status"] == "ok" and ran["stdout"] == "42\n" and isinstance(ran["runId"], int)

        broken = "--- a/calc.py\n+++ b/calc.py\n@@ -8,2 +8,2 @@\n def double(a):\n-    return add(a, a)\n+    return 3 * a\n"
        verdict = await call(s, "verify_edit", {"diff": broken})
        assert verdict["status"] == "done" and verdict["verdict"] == "failed", verdict
        # Run with a Python that has pytest, and said which.
        assert verdict["toolchain"]["runner"] == "pytest", verdict
        assert Path(verdict["toolchain"]["program"]).name.startswith("python"), verdict
        assert verdict["command"][0] == verdict["toolchain"]["program"]
        failed = [t["name"] for t in verdict["tests"] if t["outcome"] == "failed"]
        assert failed == ["tests/test_calc.py::test_doubles"]
        # Assessed before it ran: the changed function and the test that reaches it.
        [changed] = verdict["assessment"]["symbols"]
        assert changed["symbol"] == "calc.double" and changed["change"] == "modified"
        assert changed["impact"]["tests"] == ["tests.test_calc.test_doubles"], changed

        fixed = before.replace("return add(a, a)", "return 2 * a")
        verdict = await call(s, "verify_edit", {"edits": [{"path": "calc.py", "content": fixed}], "tests": "affected"})
        assert verdict["verdict"] == "passed", verdict
        assert [t["name"] for t in verdict["affected"]] == ["tests/test_calc.py::test_doubles"]

        recorded = await call(s, "get_run", {"runId": verdict["runId"]})
        assert recorded["verdict"] == "passed" and recorded["status"] == "done"
        history = await call(s, "history", {"symbol": "calc.double"})
        assert [r["status"] for r in history["runs"]] == ["passed", "failed"]
    assert (root / "calc.py").read_text() == before


def sandboxed_pytests() -> list[int]:
    """The pids of test runs a verification started (pytest with our report option)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--junitxml=.codecontext-junit.xml" in cmdline:
            found.append(int(entry.name))
    return found


async def test_a_verification_still_running_answers_a_run_id_and_a_cancel_stops_it(tmp_path: Path, home: Path) -> None:
    root = copy("verify/python", tmp_path)
    slow = "import time\n\n\ndef test_slow():\n    time.sleep(60)\n"
    async with session(root, home) as s:
        pending = await call(s, "verify_edit", {"edits": [{"path": "tests/test_slow.py", "content": slow}], "waitS": 0.5, "timeoutMs": 90000})
        assert pending["status"] == "running" and pending["runId"].startswith("run-")
        # get_run waits a little, and says it is still running.
        still = await call(s, "get_run", {"runId": pending["runId"], "waitS": 0.2})
        assert still["status"] == "running"

        # A long call that asks for progress hears of it (every second) until the client
        # cancels it; the cancel stops its run: the sandboxed pytest goes away.
        heard: list[tuple[float, str | None]] = []
        twice = anyio.Event()

        async def progressed(progress: float, total: float | None, message: str | None) -> None:
            heard.append((progress, message))
            if len(heard) >= 2:
                twice.set()

        async def verify() -> None:
            arguments = {"edits": [{"path": "tests/test_slow2.py", "content": slow}], "waitS": 600}
            await s.call_tool("verify_edit", arguments, progress_callback=progressed)

        with anyio.move_on_after(60) as bound:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(verify)
                await twice.wait()
                tasks.cancel_scope.cancel()
        assert not bound.cancelled_caught, f"no progress in 60 s: {heard}"
        assert heard[0][0] < heard[1][0], heard
        assert all(message and message.startswith("verify_edit: ") for _, message in heard), heard
        deadline = time.monotonic() + 20
        while len(sandboxed_pytests()) > 1 and time.monotonic() < deadline:
            await anyio.sleep(0.2)
        assert len(sandboxed_pytests()) <= 1, "the cancelled verification still runs"
        # The session goes on.
        found = await call(s, "find_symbol", {"query": "double", "mode": "exact"})
        assert found["symbols"]


async def test_streamable_http_on_loopback(tmp_path: Path, home: Path) -> None:
    from mcp.client.streamable_http import streamable_http_client

    root = copy("python", tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODECONTEXT_")}
    env.update({"CODECONTEXT_HOME": str(home), "CODECONTEXT_LOG": "warn"})
    # Only loopback: a wildcard address is refused before anything is bound.
    refused = await anyio.run_process([str(SERVER), "mcp", str(root), "--http", "0.0.0.0:0"], env=env, check=False)
    assert refused.returncode == 2 and b"loopback" in refused.stderr, refused.stderr

    process = await anyio.open_process([str(SERVER), "mcp", str(root), "--http", "127.0.0.1:0"], env=env)
    try:
        url = None
        buffered = b""
        with anyio.fail_after(30):
            async for chunk in process.stderr:
                buffered += chunk
                for line in buffered.decode(errors="replace").splitlines():
                    if "MCP on http://" in line:
                        url = line.split("MCP on ", 1)[1].strip()
                if url:
                    break
        assert url and url.startswith("http://127.0.0.1:"), buffered
        for modern in (False, True):
            async with streamable_http_client(url) as (read, write):
                async with ClientSession(read, write) as s:
                    if modern:
                        await s.discover()
                    else:
                        await s.initialize()
                    await s.list_tools()
                    found = await call(s, "find_symbol", {"query": "Cart", "mode": "exact"})
                    assert found["symbols"][0]["location"] == "shop/services/pricing.py:16:7"
                    message = await error(s, "find_definition", {"position": "nope.py:1:1"})
                    assert "not an indexed file" in message
    finally:
        process.terminate()
        await process.wait()


def calcdep_index(tmp_path: Path) -> Path:
    """A package index folder serving a wheel of calcdep 1.0 (a `twice` function)."""
    index = tmp_path / "index"
    script = Path(__file__).resolve().parent.parent / "calcdep_wheel.py"
    subprocess.run(["python3", str(script), str(index)], check=True, capture_output=True)
    return index


async def test_verify_installs_a_missing_requirement_once_then_uses_the_cache(tmp_path: Path, home: Path) -> None:
    wheels = os.environ.get("CODECONTEXT_TEST_WHEELS")
    if not wheels:
        if os.environ.get("CODECONTEXT_REQUIRE_SERVICES"):
            raise AssertionError("CODECONTEXT_TEST_WHEELS is not set: .ci/run downloads pytest's wheels")
        pytest.skip("CODECONTEXT_TEST_WHEELS is not set")
    root = copy("verify/python-deps", tmp_path)
    subprocess.run(["python3", "-m", "venv", str(root / ".venv")], check=True)
    pip = [str(root / ".venv" / "bin" / "pip"), "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "--no-index", "--find-links", wheels, "pytest"], check=True)
    index = subprocess.Popen(
        ["python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", str(calcdep_index(tmp_path))],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        # "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
        words = index.stdout.readline().split()
        url = f"http://127.0.0.1:{words[words.index('port') + 1]}/"
        edit = {"edits": [{"path": "tests/test_more.py", "content": "from calc import double\n\n\ndef test_more():\n    assert double(2) == 4\n"}]}
        async with session(root, home, daemon=False, env={"PIP_INDEX_URL": url}) as s:
            # Each phase is told as it begins, to a call that asks for progress.
            heard: list[str | None] = []

            async def progressed(progress: float, total: float | None, message: str | None) -> None:
                heard.append(message)

            verdict = await call(s, "verify_edit", edit, progress_callback=progressed)
            assert verdict["verdict"] == "passed", verdict
            assert verdict["install"]["status"] == "installed" and verdict["install"]["missing"] == ["calcdep"], verdict
            # Ticks before the first phase say "working", or the indexing still going.
            waiting = ("verify_edit: working", "verify_edit: indexing the project")
            phases = [m for m in heard if m and not m.startswith(waiting)]
            phases = [m.rsplit(" (", 1)[0] for m in phases]
            phases = [m for i, m in enumerate(phases) if i == 0 or phases[i - 1] != m]
            assert phases == [
                "verify_edit: installing calcdep (requirements.txt) with pip",
                "verify_edit: running pytest",
            ], heard
            index.kill()
            index.wait()
            verdict = await call(s, "verify_edit", edit)
            assert verdict["verdict"] == "passed", verdict
            assert verdict["install"]["status"] == "cached" and verdict["install"]["cached"] is True, verdict
    finally:
        index.kill()
        index.wait()
