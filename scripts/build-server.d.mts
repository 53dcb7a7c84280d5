/** The repository's root directory. */
export const ROOT: string;
/** Every file under dir, relative to it. */
export function filesUnder(dir: string): string[];
/** The files under src/ that are not TypeScript (migrations, word lists), relative to src/. */
export function assetFiles(): string[];
/** Transpiles src/ (without tests) into outDir (default dist/) and copies the assets; swaps the new tree in. */
export function buildServer(outDir?: string): Promise<{ outDir: string; modules: number; assets: number }>;
