/**
 * `autoami serve | migrate | version`. Failures print one line naming what was wrong and
 * exit 2, so service managers and operators see the cause at once.
 */
import { systemClock } from './clock.ts';
import { autosignCommand } from './methods/autosign.ts';
import { loadConfig, resolveConfigPath } from './config.ts';
import { AutoamiError } from './errors.ts';
import { createLogger } from './log.ts';
import { startSidecar, type Sidecar } from './sidecar.ts';
import { openStore } from './store/open-store.ts';
import { VERSION } from './version.ts';

const USAGE = `usage: autoami serve [--config FILE]
       autoami migrate [--config FILE]
       autoami autosign CERTNAME [--config FILE]   (puppet.conf autosign; CSR on stdin)
       autoami version
The config file defaults to $AUTOAMI_CONFIG, then autoami.yaml in Puppet's confdir
(puppet config print confdir), then /etc/puppetlabs/puppet/autoami.yaml.`;

function parseArgs(argv: string[]): { command: string | undefined; config: string | undefined; positional: string[] } {
  const [command, ...rest] = argv;
  let config: string | undefined;
  const positional: string[] = [];
  for (let index = 0; index < rest.length; index++) {
    const arg = rest[index]!;
    if (arg === '--config') {
      config = rest[++index];
      if (config === undefined) throw new AutoamiError(-32602, '--config needs a file name');
    } else if (arg.startsWith('--config=')) {
      config = arg.slice('--config='.length);
    } else if (command === 'autosign' && !arg.startsWith('-') && positional.length === 0) {
      positional.push(arg);
    } else {
      throw new AutoamiError(-32602, `unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
    }
  }
  return { command, config, positional };
}

async function serve(file: string): Promise<void> {
  const log = createLogger(process.env.AUTOAMI_LOG_LEVEL === 'debug' ? 'debug' : 'info');
  // Handlers first: the socket is up before start-up ends (spool replay), and a signal in
  // that window must still end in a clean stop, not Node's default exit.
  let sidecar: Sidecar | undefined;
  let pending: string | undefined;
  const shutdown = (signal: string) => {
    if (!sidecar) {
      pending = signal;
      return;
    }
    log.info('shutting down', { signal });
    sidecar.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error('shutdown failed', { error: String(error) });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  sidecar = await startSidecar(await loadConfig(file), log);
  if (pending) shutdown(pending);
}

export async function main(argv: string[]): Promise<void> {
  try {
    const { command, config, positional } = parseArgs(argv);
    switch (command) {
      case 'serve':
        return await serve(await resolveConfigPath(config));
      case 'migrate': {
        const store = await openStore(await loadConfig(await resolveConfigPath(config)), systemClock);
        await store.close();
        process.stdout.write(`schema up to date (${store.backend} store)\n`);
        return;
      }
      case 'autosign':
        process.exitCode = await autosignCommand(await resolveConfigPath(config), positional[0]);
        return;
      case 'version':
        process.stdout.write(`${VERSION}\n`);
        return;
      default:
        process.stderr.write(`${USAGE}\n`);
        process.exitCode = 2;
    }
  } catch (error) {
    process.stderr.write(`autoami: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  }
}
