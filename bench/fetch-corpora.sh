#!/usr/bin/env bash
# Fetches the benchmark corpora and peers into bench-data/ (git-ignored): real
# projects from crates.io, PyPI and npm at fixed versions, universal-ctags, and the
# reference language servers. Everything comes from registries this project may use.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=bench-data
mkdir -p "$DATA"

crate() { # name version -> bench-data/rust/<name>-<version>
  local dir="$DATA/rust/$1-$2"
  [ -d "$dir" ] && return
  mkdir -p "$DATA/rust"
  curl -fsSL "https://static.crates.io/crates/$1/$1-$2.crate" | tar xz -C "$DATA/rust"
}

wheel() { # distribution version dir
  local dir="$DATA/python/$3"
  [ -d "$dir" ] && return
  mkdir -p "$dir" "$DATA/downloads"
  pip download --quiet --no-deps --only-binary=:all: -d "$DATA/downloads" "$1==$2"
  python3 - "$DATA/downloads" "$1" "$2" "$dir" <<'EOF'
import glob, sys, zipfile
downloads, name, version, target = sys.argv[1:]
pattern = f"{downloads}/{name.replace('-', '_')}-{version}-*.whl"
matches = glob.glob(pattern) or glob.glob(f"{downloads}/{name.capitalize()}-{version}-*.whl")
zipfile.ZipFile(matches[0]).extractall(target)
EOF
}

npm_src() { # package version dir
  local dir="$DATA/typescript/$3"
  [ -d "$dir" ] && return
  mkdir -p "$dir" "$DATA/downloads"
  (cd "$DATA/downloads" && npm pack --silent "$1@$2" >/dev/null)
  tar xzf "$DATA/downloads/$(echo "$1" | tr -d @ | tr / -)-$2.tgz" -C "$dir" --strip-components=1
}

echo "== Rust: tokio (index and keystroke benchmarks), and a ~600k-line set (memory, search)"
crate tokio 1.40.0
for c in syn:2.0.87 regex-automata:0.4.9 regex-syntax:0.8.5 winnow:0.6.20 clap_builder:4.5.21 \
         rayon:1.10.0 hashbrown:0.15.2 serde_json:1.0.133 aho-corasick:1.1.3 serde:1.0.215 \
         indexmap:2.7.0 bytes:1.9.0 proptest:1.5.0 hyper:1.5.1 tracing:0.1.41 \
         tracing-subscriber:0.3.19 rustls:0.23.19 toml_edit:0.22.22 clap:4.5.21 \
         chrono:0.4.38 time:0.3.37 url:2.5.4 ; do
  crate "${c%%:*}" "${c##*:}"
done

echo "== Python: django (index), rich (accuracy), sympy (search, with everything else: >100k definitions)"
wheel django 5.1.4 django
wheel rich 13.9.4 rich
wheel sympy 1.13.3 sympy

echo "== Python: httpx and starlette (accuracy of members through declared types, issue 23)"
wheel httpx 0.28.1 httpx
wheel starlette 0.41.3 starlette

echo "== TypeScript: rxjs sources (accuracy)"
npm_src rxjs 7.8.1 rxjs

echo "== TypeScript sources from GitHub at fixed commits (issue 23): ky, got, ioredis"
# Their npm packages hold compiled JavaScript only. Where GitHub is out of reach the
# step is skipped with a warning; the commits are the ones measured.
gh_src() { # owner/name commit dir
  local dir="$DATA/typescript/$3"
  [ -d "$dir" ] && return
  if git clone --quiet "https://github.com/$1" "$dir" 2>/dev/null; then
    git -C "$dir" checkout --quiet "$2"
  else
    echo "warning: github.com/$1 is out of reach; $dir not fetched" >&2
  fi
}
gh_src sindresorhus/ky 3419113 ky
gh_src sindresorhus/got d00d845a got
gh_src redis/ioredis dfd5428 ioredis
# ioredis without its generated command signatures (one 6,000-line interface).
if [ -d "$DATA/typescript/ioredis" ] && [ ! -d "$DATA/typescript/ioredis-lib" ]; then
  cp -r "$DATA/typescript/ioredis/lib" "$DATA/typescript/ioredis-lib"
  rm "$DATA/typescript/ioredis-lib/utils/RedisCommander.ts"
fi

echo "== Peers: universal-ctags, pyright, typescript-language-server"
command -v ctags >/dev/null || { apt-get update -qq && apt-get install -y -qq universal-ctags; }
if [ ! -x "$DATA/lsp/node_modules/.bin/pyright-langserver" ]; then
  mkdir -p "$DATA/lsp"
  (cd "$DATA/lsp" && npm install --silent --no-audit --no-fund pyright@1.1.390 typescript@5.7.2 typescript-language-server@4.3.3)
fi
echo "corpora in $DATA/"
