import { ensureBuild } from '../../web/scripts/ensure-build.mjs';

/** The e2e tests drive the built web app as the server serves it: build it first when stale. */
export default function setup(): void {
  ensureBuild();
}
