import { FerryError } from '@ferry/contract';

/**
 * Runs a service's start-up. A configuration mistake is the user's to fix, so it
 * is printed as a plain message; anything else keeps its stack for a bug report.
 */
export function runService(name: string, start: () => Promise<void>): void {
  start().catch((err: unknown) => {
    const text = err instanceof FerryError && err.code === 'FERRY_ERR_CONFIG' ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`${name}: ${text}\n`);
    process.exit(1);
  });
}
