/**
 * Policy-based autosigning (puppet.conf `autosign = <command>`): Puppet Server runs
 * `autoami autosign CERTNAME` with the CSR on stdin; it signs only when the sidecar is
 * waiting for that certname (the bake's instance, or its verification instance once that
 * launched), the CSR's pp_instance_id is that instance and its challengePassword is the
 * bake's one-time secret.
 */
import { createConnection } from 'node:net';
import { loadConfig } from '../config.ts';
import { PROTOCOL_VERSION, type ParamsFor } from '../interface/methods.ts';
import { LineSplitter, MAX_LINE_BYTES } from '../protocol.ts';
import { checkCsrForBake } from '../puppet/ca.ts';
import { waitingAgent, type Store } from '../store/store.ts';

export function csrCheckHandler(store: Store) {
  return async (params: ParamsFor<'csr.check'>): Promise<{ sign: boolean; reason: string }> => {
    const certname = params.certname;
    const bake = await store.findBakeByCertname(certname);
    const agent = bake && bake.state !== 'done' ? waitingAgent(bake) : null;
    if (!bake || agent?.certname !== certname) return { sign: false, reason: `${certname} is not a bake AutoAMI is waiting for` };
    const check = checkCsrForBake(params.csr, certname, agent.instanceId, bake.challenge_hash);
    if (check.state === 'refused') return { sign: false, reason: check.reason };
    // One time: the secret is spent on the first CSR it signs. Cleared only if still this
    // one, so of two CSRs racing with the same secret only one is signed.
    if (!(await store.clearChallenge(bake.id, bake.challenge_hash!))) {
      return { sign: false, reason: `the challenge for ${certname} was used or replaced meanwhile` };
    }
    return { sign: true, reason: `bake ${bake.id} on ${agent.instanceId}` };
  };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

type Verdict = { sign: boolean; reason: string };

/** Asks the sidecar over its socket; any failure means "do not sign". */
function ask(socketPath: string, certname: string, csr: string): Promise<Verdict> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    const timer = setTimeout(() => socket.destroy(new Error('the sidecar did not answer within 10 s')), 10_000);
    let settled = false;
    const settle = (outcome: { verdict: Verdict } | { error: Error }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if ('verdict' in outcome) resolve(outcome.verdict);
      else reject(outcome.error);
    };
    const lines = new LineSplitter(
      (line) => {
        let message: { id?: number; result?: Verdict; error?: { message: string } };
        try {
          message = JSON.parse(line.toString('utf8'));
        } catch {
          return settle({ error: new Error(`the sidecar answered a line that is not JSON: ${line.toString('utf8').slice(0, 80)}`) });
        }
        if (message.error) settle({ error: new Error(message.error.message) });
        else if (message.id === 2 && message.result) settle({ verdict: message.result });
      },
      () => settle({ error: new Error(`the sidecar answered a line over ${MAX_LINE_BYTES} bytes`) }),
    );
    socket.on('connect', () => {
      socket.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'hello', params: { protocol: PROTOCOL_VERSION, client: 'autosign' } })}\n`);
      socket.write(`${JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'csr.check', params: { certname, csr } })}\n`);
    });
    socket.on('data', (chunk: Buffer) => lines.push(chunk));
    socket.on('error', (error) => settle({ error }));
    socket.on('close', () => settle({ error: new Error('the sidecar closed the connection without an answer') }));
  });
}

export async function autosignCommand(configFile: string, certname: string | undefined): Promise<number> {
  if (!certname) {
    process.stderr.write('autoami autosign: needs the certname as its argument\n');
    return 2;
  }
  try {
    const config = await loadConfig(configFile);
    const verdict = await ask(config.socket, certname, await readStdin());
    process.stderr.write(`autoami autosign: ${verdict.sign ? 'signing' : 'not signing'} ${certname}: ${verdict.reason}\n`);
    return verdict.sign ? 0 : 1;
  } catch (error) {
    process.stderr.write(`autoami autosign: not signing ${certname}: ${(error as Error).message}\n`);
    return 1;
  }
}
