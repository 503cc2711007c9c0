/**
 * The Node and V8 flags Herald runs with, wherever it is started: `npm start`
 * (package.json), the Dockerfile, `npm run cluster` and the benchmark.
 * test/node-flags.test.ts keeps package.json and the Dockerfile in step with it.
 *
 * `--max-semi-space-size=64` lets the young generation grow to 128 MB instead of
 * 32 MB while requests allocate fast. A publish allocates its parsed body,
 * validated copy and rows, all short-lived: with the larger young generation
 * fewer of them live through a scavenge and get copied, and scavenges are rarer.
 * The batch route gained 30–40 % (bench/RESULTS.md); an idle node does not
 * grow, the space is only taken under load.
 *
 * `--enable-source-maps`: the server runs from its bundle (dist/server, see
 * scripts/build-server.mjs), and its stack traces name the TypeScript sources.
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64', '--enable-source-maps'];
