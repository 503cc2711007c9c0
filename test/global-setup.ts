import { ensureBundle } from '../scripts/server-bundle.js';

/** Builds the server's bundle once, before the test files run in parallel (fast when it is fresh): the process-based tests start it. */
export default function globalSetup(): void {
  ensureBundle();
}
