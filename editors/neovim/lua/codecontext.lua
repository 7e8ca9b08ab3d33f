--- CodeContext for Neovim 0.7 and later: starts `codecontext serve --stdio` for buffers
--- of the languages it indexes, one server per project root, and attaches them to it.
---
---   require("codecontext").setup()                       -- defaults below
---   require("codecontext").setup({ cmd = { "/path/to/codecontext", "serve", "--stdio" } })
---
--- Options (all optional):
---   cmd           command that starts the server (default: codecontext on $PATH)
---   filetypes     filetypes that start or join a server
---   root_markers  files or folders whose nearest parent folder is the project root
---   root_dir      a folder, or function(path) -> folder|nil, instead of root_markers
---   settings      the server's settings, sent as initializationOptions:
---                 maxFileSize, parseBudgetMs, workspaceSymbolLimit, requestBudgetMs,
---                 diagnostics, diagnosticsDelayMs
---   anything else (on_attach, capabilities, handlers, on_exit, flags, cmd_env, ...) goes
---   unchanged into the client configuration (see :help vim.lsp.start_client()).
--- On Neovim 0.8+ `vim.lsp.start` starts or reuses the server; on 0.7 this module keeps
--- one client per root itself with `vim.lsp.start_client` and `vim.lsp.buf_attach_client`.

local M = {}

M.defaults = {
  cmd = { "codecontext", "serve", "--stdio" },
  filetypes = {
    "python",
    "rust",
    "go",
    "java",
    "javascript",
    "javascriptreact",
    "typescript",
    "typescriptreact",
  },
  root_markers = {
    ".git",
    "Cargo.toml",
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "package.json",
    "tsconfig.json",
    "go.mod",
    "pom.xml",
    "build.gradle",
    "build.gradle.kts",
  },
}

-- Options of this module; every other key goes to the client configuration.
local OWN_KEYS = {
  cmd = true,
  filetypes = true,
  root_markers = true,
  root_dir = true,
  settings = true,
}

local options = nil
local clients_by_root = {} -- Neovim 0.7: root folder -> client id
local warned_missing = false

--- The nearest folder at or above `path` holding one of `markers`, or nil.
function M.find_root(path, markers)
  local dir = vim.fn.fnamemodify(path, ":p")
  if vim.fn.isdirectory(dir) == 0 then
    dir = vim.fn.fnamemodify(dir, ":h")
  end
  dir = dir:gsub("/+$", "")
  if dir == "" then
    dir = "/"
  end
  while true do
    for _, marker in ipairs(markers) do
      local candidate = (dir == "/" and "" or dir) .. "/" .. marker
      if vim.loop.fs_stat(candidate) then
        return dir
      end
    end
    local parent = vim.fn.fnamemodify(dir, ":h")
    if parent == dir then
      return nil
    end
    dir = parent
  end
end

--- The project root of a file: `root_dir` if given, else the nearest marker, else the
--- file's own folder.
function M.root_dir(path)
  local opts = options or M.defaults
  local root = opts.root_dir
  if type(root) == "function" then
    root = root(path)
  end
  root = root or M.find_root(path, opts.root_markers or M.defaults.root_markers)
  root = vim.fn.fnamemodify(root or vim.fn.fnamemodify(path, ":p:h"), ":p"):gsub("/+$", "")
  return root ~= "" and root or "/"
end

local function client_config(root)
  local config = {}
  for key, value in pairs(options) do
    if not OWN_KEYS[key] then
      config[key] = value
    end
  end
  config.name = config.name or "codecontext"
  config.cmd = options.cmd
  config.root_dir = root
  -- Lua cannot tell an empty object from an empty array: send nothing rather than `[]`.
  if options.settings and next(options.settings) ~= nil then
    config.init_options = { codecontext = options.settings }
  end
  return config
end

local function attachable(bufnr)
  if not vim.api.nvim_buf_is_valid(bufnr) or vim.bo[bufnr].buftype ~= "" then
    return nil
  end
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == "" or name:match("^%a[%w+.-]*://") then
    return nil -- unnamed, or not a file (fugitive://, scp://, ...)
  end
  return name
end

--- Starts or joins the server for a buffer's project. Returns the client id, or nil.
function M.attach(bufnr)
  if options == nil then
    M.setup()
  end
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local path = attachable(bufnr)
  if path == nil then
    return nil
  end
  if vim.fn.executable(options.cmd[1]) == 0 then
    if not warned_missing then
      warned_missing = true
      vim.notify(
        "codecontext: `" .. options.cmd[1] .. "` is not executable; set `cmd` in setup()",
        vim.log.levels.ERROR
      )
    end
    return nil
  end
  local root = M.root_dir(path)
  local config = client_config(root)
  if vim.lsp.start then
    return vim.lsp.start(config, { bufnr = bufnr })
  end
  local id = clients_by_root[root]
  local client = id and vim.lsp.get_client_by_id(id)
  if client == nil or client.is_stopped() then
    id = vim.lsp.start_client(config)
    if id == nil then
      return nil
    end
    clients_by_root[root] = id
  end
  vim.lsp.buf_attach_client(bufnr, id)
  return id
end

--- Configures the integration and attaches every buffer of a supported filetype, now
--- and from now on.
function M.setup(opts)
  options = vim.tbl_extend("force", M.defaults, opts or {})
  local filetypes = {}
  for _, ft in ipairs(options.filetypes) do
    filetypes[ft] = true
  end
  local group = vim.api.nvim_create_augroup("codecontext", { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = options.filetypes,
    callback = function(args)
      M.attach(args.buf)
    end,
  })
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and filetypes[vim.bo[bufnr].filetype] then
      M.attach(bufnr)
    end
  end
end

return M
