import { execFileSync } from 'node:child_process';

/** Builds admin-ui/dist when it is missing or older than its sources (fast when fresh). */
export default function globalSetup(): void {
  execFileSync(process.execPath, ['scripts/build-admin.mjs'], { stdio: 'inherit' });
}
