-- Neovim's own LSP client against `codecontext serve --stdio`, through the shipped setup
-- in editors/neovim/lua/codecontext.lua, over a copy of fixtures/python.
--
-- Run by run.sh:  nvim --headless --clean -c "luafile tests/clients/neovim/test.lua"
-- Environment: CODECONTEXT_BIN (default target/debug/codecontext under the repository).
-- Prints one line per check; failures go to stderr. Exits 0 if every check passed, 1
-- otherwise (:cquit), also on any Lua error. Every wait is for a condition, bounded.

local TIMEOUT = 30000 -- ms; generous for a debug build on a busy machine

local script = vim.fn.fnamemodify(debug.getinfo(1, "S").source:sub(2), ":p")
local repo = vim.fn.fnamemodify(script, ":h:h:h:h")
local bin = os.getenv("CODECONTEXT_BIN")
if bin == nil or bin == "" then
  bin = repo .. "/target/debug/codecontext"
end
bin = vim.fn.fnamemodify(bin, ":p")

local failures = {}
local function say(line)
  io.stdout:write(line .. "\n")
end
local function check(ok, what, detail)
  if ok then
    say("ok   " .. what)
  else
    local line = "FAIL " .. what .. (detail and (": " .. detail) or "")
    table.insert(failures, line)
    io.stderr:write(line .. "\n")
  end
  return ok
end
local function wait(what, condition)
  local ok = vim.wait(TIMEOUT, condition, 10)
  if not ok then
    error("timed out after " .. TIMEOUT .. " ms waiting for " .. what, 0)
  end
end

-- Places are `path:line:col` relative to the workspace, 1-based, columns in characters,
-- as in expect.txt.
local root -- the workspace copy

local function parse_place(spec)
  local path, line, col = spec:match("^(.+):(%d+):(%d+)$")
  return path, tonumber(line), tonumber(col)
end

local function expect_lines()
  local found = {}
  for _, line in ipairs(vim.fn.readfile(root .. "/expect.txt")) do
    line = vim.trim(line:gsub("#.*$", ""))
    local kind, at, answer = line:match("^(%a+)%s+(%S+)%s*=>%s*(.-)%s*$")
    if kind then
      table.insert(found, { kind = kind, at = at, answer = answer:gsub("%s+", " ") })
    end
  end
  return found
end

local function line_of(path, line)
  return vim.fn.readfile(path)[line] or ""
end

-- The LSP position of a place, in the client's negotiated encoding.
local function position_of(client, spec)
  local path, line, col = parse_place(spec)
  local text = line_of(root .. "/" .. path, line)
  local byte = vim.str_byteindex(text, col - 1)
  local character = byte
  if client.offset_encoding == "utf-16" then
    local _, utf16 = vim.str_utfindex(text, byte)
    character = utf16
  elseif client.offset_encoding == "utf-32" then
    character = vim.str_utfindex(text, byte)
  end
  return path, { line = line - 1, character = character }
end

-- The place of an LSP location (or location link) in the client's encoding.
local function place_of(client, location)
  local uri = location.targetUri or location.uri
  local range = location.targetSelectionRange or location.range
  local file = vim.uri_to_fname(uri)
  local rel = file:sub(#root + 2)
  if file:sub(1, #root + 1) ~= root .. "/" then
    rel = file
  end
  local text = line_of(file, range.start.line + 1)
  local byte = range.start.character
  if client.offset_encoding == "utf-16" then
    byte = vim.str_byteindex(text, range.start.character, true)
  elseif client.offset_encoding == "utf-32" then
    byte = vim.str_byteindex(text, range.start.character)
  end
  local chars = vim.str_utfindex(text, byte)
  return string.format("%s:%d:%d", rel, range.start.line + 1, chars + 1)
end

local function open(path)
  vim.cmd("edit " .. vim.fn.fnameescape(root .. "/" .. path))
  return vim.api.nvim_get_current_buf()
end

-- One request through Neovim's client; returns the result or raises.
local function request(client, bufnr, method, params)
  local responses, err = vim.lsp.buf_request_sync(bufnr, method, params, TIMEOUT)
  if responses == nil then
    error(method .. ": " .. tostring(err), 0)
  end
  local response = responses[client.id]
  if response == nil then
    error(method .. ": no answer from the codecontext client", 0)
  end
  if response.err or response.error then
    error(method .. ": " .. vim.inspect(response.err or response.error), 0)
  end
  return response.result
end

-- The clients attached to a buffer (vim.lsp.get_clients is 0.10+).
local function clients_of(bufnr)
  if vim.lsp.get_clients then
    return vim.lsp.get_clients({ bufnr = bufnr })
  end
  return vim.tbl_values(vim.lsp.buf_get_clients(bufnr))
end

local function sorted(list)
  table.sort(list)
  return list
end

local function main()
  check(vim.fn.executable(bin) == 1, "server binary " .. bin .. " is executable")
  if vim.fn.executable(bin) ~= 1 then
    error("build it with `cargo build -p codecontext-server` or set CODECONTEXT_BIN", 0)
  end
  vim.cmd("filetype on")

  -- The workspace: a copy of the fixture with a project marker at its top, so that the
  -- setup's root detection has something to find from a file two folders down.
  root = vim.fn.fnamemodify(vim.fn.tempname(), ":p"):gsub("/+$", "") .. "-codecontext"
  vim.fn.mkdir(root, "p")
  local copied = vim.fn.system({ "cp", "-R", repo .. "/fixtures/python/.", root })
  if vim.v.shell_error ~= 0 then
    error("cannot copy the fixture: " .. copied, 0)
  end
  root = vim.loop.fs_realpath(root)
  vim.fn.writefile({ "[project]", 'name = "shop"' }, root .. "/pyproject.toml")
  -- Where the server keeps its index between sessions: not the user's cache.
  local home = root .. "-home"
  vim.fn.mkdir(home, "p")

  -- The shipped setup, as a user would call it, plus hooks to observe the client.
  vim.opt.runtimepath:prepend(repo .. "/editors/neovim")
  local indexed, exit_code = false, nil
  local default_progress = vim.lsp.handlers["$/progress"]
  require("codecontext").setup({
    cmd = { bin, "serve", "--stdio", "--no-daemon" },
    cmd_env = {
      CODECONTEXT_HOME = home,
      CODECONTEXT_LOG = os.getenv("CODECONTEXT_LOG") or "warn",
    },
    handlers = {
      ["$/progress"] = function(err, result, ctx, config)
        if result and type(result.value) == "table" and result.value.kind == "end" then
          indexed = true
        end
        return default_progress(err, result, ctx, config)
      end,
    },
    on_exit = function(code)
      exit_code = code
    end,
  })

  -- Open a file two folders down: the FileType autocommand starts the server.
  local util_buf = open("shop/util.py")
  check(vim.bo.filetype == "python", "filetype detected", vim.bo.filetype)
  local client
  wait("the codecontext client to attach", function()
    for _, c in ipairs(clients_of(util_buf)) do
      if c.name == "codecontext" then
        client = c
      end
    end
    return client ~= nil and client.initialized
  end)
  wait("the $/progress notification that ends indexing", function()
    return indexed
  end)
  say(string.format("     indexed %s (offset encoding %s)", root, client.offset_encoding))

  check(client.config.root_dir == root, "root detected from pyproject.toml", client.config.root_dir)
  local folders = client.workspace_folders or {}
  check(
    #folders == 1 and folders[1].uri == vim.uri_from_fname(root),
    "the root is the one workspace folder",
    vim.inspect(folders)
  )
  local caps = client.server_capabilities
  check(
    type(caps.textDocumentSync) == "table" and caps.textDocumentSync.change == 2,
    "server asks for incremental sync",
    vim.inspect(caps.textDocumentSync)
  )
  check(
    caps.positionEncoding == nil or caps.positionEncoding == client.offset_encoding,
    "negotiated position encoding is the one Neovim uses",
    tostring(caps.positionEncoding)
  )

  -- Another file of the same project joins the same server.
  local main_buf = open("main.py")
  wait("main.py to attach", function()
    return vim.lsp.buf_is_attached(main_buf, client.id)
  end)
  local ours = 0
  local all = vim.lsp.get_clients and vim.lsp.get_clients() or vim.lsp.get_active_clients()
  for _, c in ipairs(all) do
    if c.name == "codecontext" then
      ours = ours + 1
    end
  end
  check(ours == 1, "one server for the project", ours .. " clients")

  -- Definitions: positions and qualified names from expect.txt, where each name is.
  local expect = expect_lines()
  local definitions = { -- at, the qualified name expect.txt gives, where that name is
    { "main.py:8:12", "shop.services.pricing.Cart", "shop/services/pricing.py:16:7" },
    { "main.py:9:19", "shop.models.product.Product", "shop/models/product.py:6:7" },
    { "main.py:11:16", "shop.services.pricing.total_price", "shop/services/pricing.py:7:5" },
    { "shop/services/pricing.py:13:12", "shop.util.with_tax", "shop/util.py:11:5" },
    { "shop/models/product.py:12:22", "shop.util.clamp", "shop/util.py:6:5" },
    { "main.py:9:10", "shop.services.pricing.Cart.add", "shop/services/pricing.py:21:9" },
  }
  for _, row in ipairs(definitions) do
    local case = { at = row[1], name = row[2], want = row[3] }
    local listed = false
    for _, e in ipairs(expect) do
      listed = listed or (e.kind == "def" and e.at == case.at and e.answer == case.name)
    end
    check(listed, "expect.txt says def " .. case.at .. " => " .. case.name)
    local path, position = position_of(client, case.at)
    local bufnr = open(path)
    local result = request(client, bufnr, "textDocument/definition", {
      textDocument = { uri = vim.uri_from_bufnr(bufnr) },
      position = position,
    })
    local got = {}
    if result and (result.uri or result.targetUri) then
      result = { result }
    end
    for _, location in ipairs(result or {}) do
      table.insert(got, place_of(client, location))
    end
    check(
      #got == 1 and got[1] == case.want,
      "definition " .. case.at .. " -> " .. case.want,
      "got " .. table.concat(got, " ")
    )
  end

  -- The jump itself, as `gd` would do it: cursor on `Cart` in main.py line 8.
  open("main.py")
  vim.api.nvim_win_set_cursor(0, { 8, 11 })
  vim.lsp.buf.definition()
  wait("the jump to Cart", function()
    return vim.api.nvim_buf_get_name(0) == root .. "/shop/services/pricing.py"
      and vim.api.nvim_win_get_cursor(0)[1] == 16
  end)
  check(
    vim.deep_equal(vim.api.nvim_win_get_cursor(0), { 16, 6 }),
    "vim.lsp.buf.definition() jumps to class Cart",
    vim.inspect(vim.api.nvim_win_get_cursor(0))
  )

  -- References: every `refs` line of expect.txt, without the declaration.
  local refs_checked = 0
  for _, e in ipairs(expect) do
    if e.kind == "refs" then
      refs_checked = refs_checked + 1
      local path, position = position_of(client, e.at)
      local bufnr = open(path)
      local result = request(client, bufnr, "textDocument/references", {
        textDocument = { uri = vim.uri_from_bufnr(bufnr) },
        position = position,
        context = { includeDeclaration = false },
      })
      local got = {}
      for _, location in ipairs(result or {}) do
        table.insert(got, place_of(client, location))
      end
      local want = sorted(vim.split(e.answer, " ", { trimempty = true }))
      local got_text = table.concat(sorted(got), " ")
      check(got_text == table.concat(want, " "), "references " .. e.at, "got " .. got_text)
    end
  end
  check(refs_checked >= 1, "expect.txt has refs lines", tostring(refs_checked))

  -- Hover on `util.clamp(...)` in pricing.py: the signature, through a request and
  -- through vim.lsp.buf.hover()'s floating window.
  local path, position = position_of(client, "shop/services/pricing.py:13:23")
  local pricing = open(path)
  local hover = request(client, pricing, "textDocument/hover", {
    textDocument = { uri = vim.uri_from_bufnr(pricing) },
    position = position,
  })
  local signature = "def clamp(value, low, high)"
  local hover_text = vim.inspect(hover and hover.contents)
  if hover and type(hover.contents) == "table" and hover.contents.value then
    hover_text = hover.contents.value
  end
  check(hover_text:find(signature, 1, true) ~= nil, "hover shows clamp's signature", hover_text)

  vim.api.nvim_win_set_cursor(0, { 13, 22 })
  local before = #vim.api.nvim_list_wins()
  vim.lsp.buf.hover()
  local float_text = ""
  wait("the hover window", function()
    for _, win in ipairs(vim.api.nvim_list_wins()) do
      if vim.api.nvim_win_get_config(win).relative ~= "" then
        local lines = vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(win), 0, -1, false)
        float_text = table.concat(lines, "\n")
        return true
      end
    end
    return false
  end)
  check(
    #vim.api.nvim_list_wins() == before + 1 and float_text:find(signature, 1, true) ~= nil,
    "vim.lsp.buf.hover() shows the signature",
    float_text
  )
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(win).relative ~= "" then
      vim.api.nvim_win_close(win, true)
    end
  end

  -- workspace/symbol.
  local symbols = request(client, pricing, "workspace/symbol", { query = "total_price" })
  local found = {}
  for _, s in ipairs(symbols or {}) do
    table.insert(found, s.name .. "@" .. place_of(client, s.location))
  end
  check(
    vim.tbl_contains(found, "total_price@shop/services/pricing.py:7:5"),
    "workspace/symbol finds total_price",
    table.concat(found, " ")
  )

  -- Edits go to the server as Neovim computes them (incremental didChange).
  util_buf = open("shop/util.py")
  local count = vim.api.nvim_buf_line_count(util_buf)
  vim.api.nvim_buf_set_lines(util_buf, count, count, false, {
    "",
    "",
    "def rounded(amount, digits=2):",
    "    return round(amount, digits)",
  })
  local outline = request(client, util_buf, "textDocument/documentSymbol", {
    textDocument = { uri = vim.uri_from_bufnr(util_buf) },
  })
  local names = {}
  for _, s in ipairs(outline or {}) do
    names[s.name] = s.selectionRange or (s.location and s.location.range)
  end
  check(
    names.rounded ~= nil and names.rounded.start.line == count + 2,
    "documentSymbol sees a function typed into the buffer",
    vim.inspect(vim.tbl_keys(names))
  )

  -- A syntax error shows up in vim.diagnostic, and goes away when fixed.
  local function ours_diagnostics()
    local list = {}
    for _, d in ipairs(vim.diagnostic.get(util_buf)) do
      if d.source == "codecontext" then
        table.insert(list, d)
      end
    end
    return list
  end
  -- `def with_tax(amount):` (line 11) loses its closing parenthesis.
  local line11 = vim.api.nvim_buf_get_lines(util_buf, 10, 11, false)[1]
  local paren = line11:find(")", 1, true)
  vim.api.nvim_buf_set_text(util_buf, 10, paren - 1, 10, paren, { "" })
  wait("a codecontext diagnostic", function()
    return #ours_diagnostics() > 0
  end)
  local d = ours_diagnostics()[1]
  check(
    d.severity == vim.diagnostic.severity.ERROR and (d.lnum == 10 or d.lnum == 11),
    "syntax error published as an error on the broken definition",
    vim.inspect(d)
  )
  vim.api.nvim_buf_set_text(util_buf, 10, paren - 1, 10, paren - 1, { ")" })
  wait("the diagnostics to clear", function()
    return #ours_diagnostics() == 0
  end)
  check(true, "diagnostics cleared after the fix")

  -- Clean shutdown: shutdown, exit, status 0.
  vim.lsp.stop_client(client.id)
  wait("the server to exit", function()
    return exit_code ~= nil
  end)
  check(exit_code == 0, "server exits with status 0 after shutdown", tostring(exit_code))
end

local ok, err = xpcall(main, debug.traceback)
if not ok then
  table.insert(failures, "ERROR " .. tostring(err))
  io.stderr:write("ERROR " .. tostring(err) .. "\n")
end
if root and root:match("%-codecontext$") then
  vim.fn.delete(root, "rf")
  vim.fn.delete(root .. "-home", "rf")
end
if #failures > 0 then
  io.stderr:write(string.format("neovim client test: %d failure(s)\n", #failures))
  vim.cmd("cquit 1")
else
  say("neovim client test: all checks passed")
  vim.cmd("qall!")
end
