#!/usr/bin/env bash
# Copy GraphiQL's browser files, at the versions package-lock.json pins, into graph/static/graphiql/vendor
# (replacing what is there), each package's licence beside its files. Needs node and npm; the README's GraphiQL
# section says how to change the versions.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../static/graphiql/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cp "$here/package.json" "$here/package-lock.json" "$work/"
# --ignore-scripts: only published files are needed, nothing is built here.
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
modules="$work/node_modules"

rm -rf "$out"
# copy SOURCE DEST: the source maps are not shipped, so their trailing reference is dropped.
copy() {
    mkdir -p "$(dirname "$out/$2")"
    sed '/^\/\/# sourceMappingURL=/d' "$modules/$1" > "$out/$2"
}
copy react/umd/react.production.min.js react/react.production.min.js
copy react/LICENSE react/LICENSE
copy react-dom/umd/react-dom.production.min.js react-dom/react-dom.production.min.js
copy react-dom/LICENSE react-dom/LICENSE
copy graphiql/graphiql.min.js graphiql/graphiql.min.js
copy graphiql/graphiql.min.css graphiql/graphiql.min.css
copy graphiql/LICENSE graphiql/LICENSE
copy @graphiql/plugin-explorer/dist/index.umd.js plugin-explorer/index.umd.js
copy @graphiql/plugin-explorer/dist/style.css plugin-explorer/style.css
# The plugin's package carries no licence file; it is published from the graphiql repository under that
# repository's MIT licence (graphiql's LICENSE). Its build bundles graphiql-explorer, whose licence is its own.
copy graphiql/LICENSE plugin-explorer/LICENSE
copy @graphiql/plugin-explorer/node_modules/graphiql-explorer/LICENSE plugin-explorer/LICENSE.graphiql-explorer

# Where each file came from: the npm package, its version and its tarball's integrity hash (from the lock file).
node -e '
const lock = require(process.argv[1]).packages;
const names = ["react", "react-dom", "graphiql", "@graphiql/plugin-explorer",
               "@graphiql/plugin-explorer/node_modules/graphiql-explorer"];
for (const name of names) {
  const entry = lock["node_modules/" + name];
  console.log(`${name.split("node_modules/").pop()}@${entry.version} ${entry.integrity}`);
}' "$work/package-lock.json" > "$out/SOURCES.txt"
echo "Copied into $out:"
(cd "$out" && find . -type f | sort)
