#!/usr/bin/env bash
# Neovim's built-in LSP client against the real server: see test.lua.
#   bash tests/clients/neovim/run.sh        (after `cargo build -p codecontext-server`)
# CODECONTEXT_BIN overrides the server binary (default target/debug/codecontext).
set -euo pipefail
cd "$(dirname "$0")/../../.."

if ! command -v nvim >/dev/null; then
    echo "nvim not found (apt-get install neovim)" >&2
    exit 2
fi
# The test bounds each of its waits; this only guards against Neovim itself hanging,
# for example on an error before the test's own handler is in place.
exec timeout --kill-after=10 300 \
    nvim --headless --clean -c "luafile tests/clients/neovim/test.lua" </dev/null
