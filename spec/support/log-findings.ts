/**
 * What the end-to-end run counts as AutoAMI going wrong, read from the logs of the parts that
 * run it. Only AutoAMI's own words count: Puppet Server logs errors of its own in normal runs
 * (an agent waiting for its certificate asks again after the sidecar signed it, and the CA
 * logs that at ERROR), and their wording changes between Puppet releases.
 */

/**
 * The report processor's own lines in Puppet Server's log at WARN or ERROR. Puppet's log
 * messages reach the `puppetserver` logger as "Puppet <message>"; the processor's messages
 * begin "autoami" (see module/lib/puppet/reports/autoami.rb and puppet_x/autoami/), and
 * Puppet reports a processor that raised as "Report processor failed".
 */
export function reportProcessorProblems(serverLog: string): string[] {
  return serverLog
    .split('\n')
    .filter((line) => /\b(?:ERROR|WARN)\s+\[puppetserver\] Puppet (?:autoami\b|Report processor failed)/.test(line));
}

/** The sidecar's JSON log lines at level error (non-JSON lines, such as Node's own warnings, are not the sidecar's). */
export function sidecarErrors(sidecarLog: string): string[] {
  return sidecarLog.split('\n').filter((line) => {
    if (!line.startsWith('{')) return false;
    try {
      return (JSON.parse(line) as { level?: unknown }).level === 'error';
    } catch {
      return false;
    }
  });
}

/**
 * The bakes' one-time CSR challenges, read from bootstrap scripts (user-data, or what an ssh
 * session was sent): the one place they belong, so they can be looked for everywhere else.
 */
export function bootstrapChallenges(scripts: readonly string[]): string[] {
  const found = new Set<string>();
  for (const script of scripts) for (const match of script.matchAll(/^CHALLENGE_YAML='"([0-9A-Za-z]{32,255})"'$/gm)) found.add(match[1]!);
  return [...found];
}

/** Every line of the logs that holds one of the secrets, named by its log, the secret itself masked. */
export function secretLines(logs: Record<string, string>, secrets: readonly string[]): string[] {
  const found: string[] = [];
  for (const [name, log] of Object.entries(logs)) {
    for (const line of log.split('\n')) {
      if (secrets.some((secret) => line.includes(secret))) found.push(`${name}: ${secrets.reduce((masked, secret) => masked.replaceAll(secret, '[SECRET]'), line)}`);
    }
  }
  return found;
}
