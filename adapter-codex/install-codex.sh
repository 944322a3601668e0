#!/usr/bin/env bash
# Install the Codex binary the adapter's end-to-end tests run against, into a cache outside the
# repository, and print the path of the native binary on stdout (the only line on stdout).
#
# Idempotent: when the pinned version is already there, nothing is downloaded.
#   DELEGATE_CODEX_CACHE  where to install (default: $HOME/.cache/delegate/codex-0.169.0)
# The tests find the binary at the same place (or at $DELEGATE_CODEX_BIN when that is set).
set -euo pipefail

version="0.169.0"
cache="${DELEGATE_CODEX_CACHE:-${HOME}/.cache/delegate/codex-${version}}"
bin="${cache}/node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex"

installed_version() {
  [ -x "$bin" ] && "$bin" --version 2>/dev/null | awk '{print $NF}'
}

if [ "$(installed_version || true)" != "$version" ]; then
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) ;;
    *) echo "install-codex.sh: only linux x86_64 is supported (the tests use the musl binary)" >&2; exit 2 ;;
  esac
  command -v npm >/dev/null || { echo "install-codex.sh: npm is needed to install @openai/codex@${version}" >&2; exit 2; }
  mkdir -p "$cache"
  echo "install-codex.sh: installing @openai/codex@${version} into ${cache}" >&2
  npm install --prefix "$cache" --no-audit --no-fund --loglevel=error "@openai/codex@${version}" >&2
  got="$(installed_version || true)"
  if [ "$got" != "$version" ]; then
    echo "install-codex.sh: expected codex ${version} at ${bin}, found '${got}'" >&2
    exit 1
  fi
fi
echo "$bin"
