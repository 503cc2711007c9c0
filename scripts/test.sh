#!/usr/bin/env bash
# Everything `npm test` runs: static checks first, then the suites.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== provisioning (Chromium and redis-server from Debian, when missing)"
bash scripts/provision.sh
echo "== admin UI build (when stale)"
node scripts/build-admin.mjs
echo "== typecheck (tsc --noEmit, tests included; admin UI with the DOM library)"
npx tsc --noEmit
npx tsc -p admin-ui --noEmit
echo "== lint"
npx eslint .
echo "== tests"
if [ $# -gt 0 ]; then
  # Arguments select vitest files; the pressure and browser suites run with the full `npm test`.
  npx vitest run "$@"
  exit 0
fi
npx vitest run --exclude 'test/pressure/**'
echo "== pressure (real processes under load: slow consumers, storms, drains, churn, soak), one file at a time"
npx vitest run test/pressure --no-file-parallelism
echo "== end-to-end (Playwright, Debian's Chromium)"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npx playwright test
