#!/usr/bin/env bash
# Builds cluelab's native CPU backend: native/src/*.cc -> native/build/cluelab-native.node, a
# Node-API addon (one binary for every Node version >= 18) linked against oneDNN and OpenMP.
#
#   bash scripts/build-native.sh                 build; any problem is an error (exit 1)
#   bash scripts/build-native.sh --if-possible   a missing compiler or oneDNN is reported, recorded
#                                                for `cluelab doctor`, and not an error (install steps)
#   bash scripts/build-native.sh --if-stale      do nothing when the binary matches native/src
#
# Needs: a C++17 compiler with OpenMP (build-essential) and oneDNN's headers (libdnnl-dev).
# Node-API headers come from the node-api-headers npm package, else from Node's own include dir.
# Env: CXX (compiler, default c++), CLUELAB_NATIVE_CXXFLAGS (extra flags), CLUELAB_SKIP_NATIVE_BUILD=1.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
src="$root/native/src"
out="$root/native/build"
if_possible=0
if_stale=0
for arg in "$@"; do
  case "$arg" in
    --if-possible) if_possible=1 ;;
    --if-stale) if_stale=1 ;;
    *) echo "build-native: unknown option $arg (use --if-possible, --if-stale)" >&2; exit 2 ;;
  esac
done

if [[ "${CLUELAB_SKIP_NATIVE_BUILD:-}" == "1" ]]; then
  echo "build-native: skipped (CLUELAB_SKIP_NATIVE_BUILD=1)"
  exit 0
fi

mkdir -p "$out"
# The loader (lib/engine/native/addon.ts, sourceHash) computes the same hash of native/src to
# notice a binary built from other sources: SHA-256 over each file's name, a newline, its bytes.
hash=$(node -e '
  const { createHash } = require("node:crypto"); const fs = require("node:fs"); const path = require("node:path");
  const dir = process.argv[1]; const h = createHash("sha256");
  for (const name of fs.readdirSync(dir).sort()) { h.update(name + "\n"); h.update(fs.readFileSync(path.join(dir, name))); }
  console.log(h.digest("hex"));' "$src")

if [[ $if_stale == 1 && -f "$out/cluelab-native.node" && -f "$out/build-info.json" ]] &&
  grep -q "\"sourceHash\": \"$hash\"" "$out/build-info.json"; then
  echo "build-native: up to date"
  exit 0
fi

fail() {
  printf '%s\n' "$1" >"$out/build-error.txt"
  if [[ $if_possible == 1 ]]; then
    echo "build-native: the native backend was not built: $1" >&2
    echo "build-native: cluelab works without it (on WebAssembly); \`cluelab doctor\` reports this." >&2
    exit 0
  fi
  echo "build-native: $1" >&2
  exit 1
}

cxx=${CXX:-c++}
command -v "$cxx" >/dev/null 2>&1 || fail "no C++ compiler ($cxx not found; on Debian: apt-get install build-essential)"

napi_include=$(cd "$root" && node -e 'try { console.log(require("node-api-headers").include_dir) } catch { }' 2>/dev/null || true)
if [[ -z "$napi_include" || ! -f "$napi_include/node_api.h" ]]; then
  node_bin=$(readlink -f "$(command -v node)")
  napi_include="$(dirname "$(dirname "$node_bin")")/include/node"
fi
[[ -f "$napi_include/node_api.h" ]] || fail "Node-API headers not found (npm install node-api-headers, or install Node's headers)"

echo '#include <oneapi/dnnl/dnnl.hpp>' | "$cxx" -std=c++17 -x c++ -E - >/dev/null 2>&1 ||
  fail "oneDNN headers not found (on Debian: apt-get install libdnnl-dev)"
echo 'int main() { return 0; }' | "$cxx" -x c++ -fopenmp - -o /dev/null >/dev/null 2>&1 ||
  fail "$cxx cannot build with OpenMP (-fopenmp)"

flags=(-std=c++17 -O3 -fPIC -fopenmp -fvisibility=hidden -fno-math-errno -fno-trapping-math
  -DNAPI_VERSION=8 -DNODE_GYP_MODULE_NAME=cluelab_native -I"$napi_include")
# shellcheck disable=SC2206
flags+=(${CLUELAB_NATIVE_CXXFLAGS:-})
link=(-shared -fopenmp -ldnnl)
[[ "$(uname -s)" == "Darwin" ]] && link+=(-undefined dynamic_lookup)

tmp=$(mktemp -d "$out/.build-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
echo "build-native: compiling native/src with $cxx (${#flags[@]} flags) …"
pids=()
for f in "$src"/*.cc; do
  "$cxx" "${flags[@]}" -c "$f" -o "$tmp/$(basename "${f%.cc}").o" 2>"$tmp/$(basename "$f").log" &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
if [[ $status != 0 ]]; then
  cat "$tmp"/*.log >&2
  fail "compiling native/src failed: $(grep -m1 -h 'error' "$tmp"/*.log || echo 'see the compiler output')"
fi
"$cxx" "$tmp"/*.o "${link[@]}" -o "$tmp/cluelab-native.node" 2>"$tmp/link.log" || {
  cat "$tmp/link.log" >&2
  fail "linking failed: $(head -n1 "$tmp/link.log")"
}
# Load it once here, so a missing shared library shows up now and not at first use.
node -e 'require(process.argv[1]).info()' "$tmp/cluelab-native.node" 2>"$tmp/load.log" || {
  cat "$tmp/load.log" >&2
  fail "the built addon does not load: $(grep -m1 -i 'error' "$tmp/load.log" || head -n1 "$tmp/load.log")"
}
mv -f "$tmp/cluelab-native.node" "$out/cluelab-native.node"
seconds=$(($(date +%s) - start))
compiler=$("$cxx" --version | head -n1)
cat >"$out/build-info.json" <<JSON
{
  "sourceHash": "$hash",
  "compiler": "${compiler//\"/\\\"}",
  "flags": "${flags[*]//\"/\\\"}",
  "builtAt": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "seconds": $seconds
}
JSON
rm -f "$out/build-error.txt"
echo "build-native: built native/build/cluelab-native.node in ${seconds}s"
