#!/usr/bin/env bash
# Fetches the repositories whose git history `codecontext-bench context` replays into
# bench-data/history/<name> (git-ignored), each checked out at a fixed commit so that a
# run is reproducible: click (Python), ripgrep (Rust) and zod (TypeScript). The projects
# `codecontext-bench replay` verifies on besides click go to bench-data/replay/<name>:
# serde_json (Rust) and pflag (Go).
#
# With CODECONTEXT_HISTORY_MIRROR set (e.g. /work/.mirror), each repository is cloned
# from $CODECONTEXT_HISTORY_MIRROR/<owner>+<name>/repo instead of GitHub.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=bench-data/history
mkdir -p "$DATA"

repo() { # owner name commit [folder] -> <folder, bench-data/history>/<name> at <commit>
  local owner=$1 name=$2 pin=$3
  local dir="${4:-$DATA}/$name"
  if [ ! -d "$dir/.git" ]; then
    local url="https://github.com/$owner/$name"
    if [ -n "${CODECONTEXT_HISTORY_MIRROR:-}" ]; then
      url="$CODECONTEXT_HISTORY_MIRROR/$owner+$name/repo"
    fi
    echo "== $owner/$name from $url"
    git clone --quiet --no-checkout "$url" "$dir"
  fi
  if ! git -C "$dir" cat-file -e "$pin^{commit}" 2>/dev/null; then
    git -C "$dir" fetch --quiet origin
  fi
  git -C "$dir" -c advice.detachedHead=false checkout --quiet --detach "$pin"
  echo "$name $(git -C "$dir" rev-parse HEAD) ($(git -C "$dir" log -1 --format=%cs))"
}

repo pallets click 2c8cd3ac958a7eb316d67f2d316c27086c4c0369
repo BurntSushi ripgrep 3fce3b5bb0236da2df6d99672afb8a719642eca7
repo colinhacks zod e516c3baf22615e20934116abebfed6c000222c2
mkdir -p bench-data/replay
repo serde-rs json 827a315bf2198558f0325b07bcc1e2cd973aba2f bench-data/replay
repo spf13 pflag 5fdac2d16c16d60605cb8baa887e8c5c38ef623f bench-data/replay
echo "history in $DATA/"
