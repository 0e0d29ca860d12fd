import { readFileSync } from 'node:fs';

/** The sidecar's version is the package's: one number for the module, the sidecar and the protocol log. */
export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
