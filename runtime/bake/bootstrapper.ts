/** The two ways a bake instance gets its agent run: over SSH, or from EC2 user-data. */
import { join } from 'node:path';
import type { Clock } from '../clock.ts';
import { renderBootstrapScript, userDataFor } from '../bootstrap/script.ts';
import { runOverSsh } from '../bootstrap/ssh.ts';
import type { Sleep } from '../sleep.ts';
import type { Bootstrapper } from './env.ts';

export interface BootstrapSettings {
  readonly stateDir: string;
  readonly sshPort: number;
  readonly puppetPort: number;
  readonly clock: Clock;
  readonly sleep: Sleep;
}

/** Seconds the agent waits for the sidecar to sign its certificate. */
const WAIT_FOR_CERT_S = 15;

export function bootstrapper(settings: BootstrapSettings): Bootstrapper {
  return {
    overSsh(run, group, host, deadline, challenge) {
      // The script, secret included, goes over ssh's stdin: never on a command line or in a log.
      const script = renderBootstrapScript({
        certname: run.certname,
        server: group.puppetserver,
        serverPort: settings.puppetPort,
        instanceId: run.instanceId,
        role: group.name,
        environment: null,
        waitForCert: WAIT_FOR_CERT_S,
        challenge,
        noop: run.noop,
      }, group.template ?? undefined);
      return runOverSsh({
        target: { host, port: settings.sshPort, login: group.login, keyfile: group.keyfile },
        knownHostsFile: join(settings.stateDir, 'known_hosts'),
        // EC2 reuses addresses: key the host key by instance, not by address.
        hostKeyAlias: run.instanceId,
        script,
        deadline,
        clock: settings.clock,
        sleep: settings.sleep,
      });
    },
    userData(group, server, challenge, noop) {
      const input = { group: group.name, server, serverPort: settings.puppetPort, environment: null, waitForCert: WAIT_FOR_CERT_S, challenge, noop };
      return userDataFor(input, group.template ?? undefined);
    },
  };
}
