#!/usr/bin/env bash
# Everything `npm test` runs: static checks first, then the suites.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== typecheck (tsc --noEmit, tests included)"
npx tsc --noEmit
echo "== lint"
npx eslint .
echo "== tests"
npx vitest run "$@"
