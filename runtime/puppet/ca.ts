/**
 * Signs a bake instance's certificate through Puppet Server's CA API (v1), as the master
 * itself: auth.conf must allow the master's certname on `certificate_status` (README).
 * Only a CSR that names the certname AutoAMI waits for, carries the instance's id in
 * pp_instance_id and the bake's one-time secret as challengePassword is signed; the same
 * check answers policy autosign.
 */
import { challengeMatches } from './challenge.ts';
import { parseCsr, verifyCsrSignature, CsrError } from './csr.ts';
import { httpsCall, ok, statusError, type HttpsCall, type HttpsResponse } from './https.ts';
import { readMasterTls, serverOrigin, type MasterTlsPaths } from './master-tls.ts';
import { PP_INSTANCE_ID_OID, type CertificateAuthority, type Challenge, type SignResult } from './types.ts';

export interface PuppetCaOptions extends MasterTlsPaths {
  readonly server: string;
  readonly port: number;
  readonly timeoutMs?: number;
}

export type CsrCheck = { readonly state: 'allowed' } | { readonly state: 'refused'; readonly reason: string };

// Values from a CSR are the sender's words: quoted and cut short before they reach a log.
const quote = (value: string) => JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);

/**
 * May `csrPem` be signed as `certname` for the bake running on instance `expectedInstanceId`,
 * whose outstanding challenge is `challengeHash` (null: none, so nothing may be signed)?
 * The certname and instance id are public; only the challenge proves the CSR came from the
 * instance the bake bootstrapped. Reasons never show a challengePassword, right or wrong.
 */
export function checkCsrForBake(csrPem: string, certname: string, expectedInstanceId: string, challengeHash: string | null): CsrCheck {
  const refuse = (reason: string): CsrCheck => ({ state: 'refused', reason });
  if (!expectedInstanceId) return refuse(`no instance id is known for ${certname}`);
  let info;
  try {
    info = parseCsr(csrPem);
    if (!verifyCsrSignature(csrPem)) return refuse(`the CSR for ${certname} is not signed by the key it carries`);
  } catch (error) {
    if (error instanceof CsrError) return refuse(`the CSR for ${certname} is unusable: ${error.message}`);
    throw error;
  }
  if (info.subjectCommonName !== certname) {
    return refuse(`the CSR names ${info.subjectCommonName === null ? 'no CN' : `CN ${quote(info.subjectCommonName)}`}, not ${quote(certname)}`);
  }
  const instanceId = info.extensions[PP_INSTANCE_ID_OID];
  if (instanceId === undefined) return refuse(`the CSR for ${certname} carries no pp_instance_id; expected ${quote(expectedInstanceId)}`);
  if (instanceId !== expectedInstanceId) {
    return refuse(`the CSR for ${certname} has pp_instance_id ${quote(instanceId)}, but the bake instance is ${quote(expectedInstanceId)}`);
  }
  if (!challengeHash) return refuse(`no challenge is outstanding for ${certname}: its secret was used already, or the bake is past signing`);
  if (info.challengePassword === null) return refuse(`the CSR for ${certname} carries no challengePassword`);
  if (!challengeMatches(info.challengePassword, challengeHash)) return refuse(`the CSR for ${certname} carries a wrong challengePassword`);
  return { state: 'allowed' };
}

export class PuppetCa implements CertificateAuthority {
  private readonly base: URL;

  constructor(private readonly options: PuppetCaOptions) {
    this.base = new URL('puppet-ca/v1/', serverOrigin(options.server, options.port));
  }

  async signFor(certname: string, instanceId: string, challenge: Challenge): Promise<SignResult> {
    const request = await this.call('GET', 'certificate_request', certname, undefined, 'text/plain');
    // Puppet Server drops the CSR once it is signed, so 404 also follows a sign that raced us.
    if (request.res.status === 404) return { state: 'pending', reason: `no CSR from ${certname} is waiting` };
    if (!ok(request.res)) throw statusError(request.call, request.res, forbiddenHint(request.res));
    const check = checkCsrForBake(request.res.text, certname, instanceId, challenge.hash);
    if (check.state === 'refused') return { state: 'refused', reason: `${check.reason}; ${await this.discard(certname)}` };
    // Policy autosign may be deciding on this very CSR: whoever spends the secret signs.
    if (!(await challenge.spend())) return { state: 'pending', reason: `the challenge for ${certname} was spent meanwhile, by policy autosign signing this CSR` };
    const sign = await this.call('PUT', 'certificate_status', certname, { desired_state: 'signed' });
    if (!ok(sign.res)) throw statusError(sign.call, sign.res, forbiddenHint(sign.res));
    return { state: 'signed' };
  }

  /**
   * Removes a refused CSR. Puppet Server keeps one CSR per certname and answers any later one
   * 400, so a CSR forged ahead of the agent's would otherwise hold the certname until the
   * bake times out; removed, the agent (which asks again every waitforcert) submits its own.
   * It also drops a CSR carrying the secret of an interrupted bootstrap, whose hash is gone.
   */
  private async discard(certname: string): Promise<string> {
    try {
      const remove = await this.call('DELETE', 'certificate_status', certname);
      if (ok(remove.res) || remove.res.status === 404) return 'the CSR was removed, so the instance can ask again';
      return `the CSR stays: ${statusError(remove.call, remove.res, forbiddenHint(remove.res)).message}`;
    } catch (error) {
      return `the CSR stays: ${(error as Error).message}`;
    }
  }

  async clean(certname: string): Promise<void> {
    const revoke = await this.call('PUT', 'certificate_status', certname, { desired_state: 'revoked' });
    // 404: nothing to revoke; 409: only a CSR, never signed, which the DELETE removes.
    if (!ok(revoke.res) && revoke.res.status !== 404 && revoke.res.status !== 409) throw statusError(revoke.call, revoke.res, forbiddenHint(revoke.res));
    const remove = await this.call('DELETE', 'certificate_status', certname);
    if (!ok(remove.res) && remove.res.status !== 404) throw statusError(remove.call, remove.res, forbiddenHint(remove.res));
  }

  private async call(method: HttpsCall['method'], endpoint: string, certname: string, json?: unknown, accept?: string) {
    const call: HttpsCall = {
      method,
      url: new URL(`${endpoint}/${encodeURIComponent(certname)}`, this.base),
      tls: await readMasterTls(this.options),
      json,
      accept,
      timeoutMs: this.options.timeoutMs,
    };
    const res: HttpsResponse = await httpsCall(call);
    return { call, res };
  }

}

function forbiddenHint(res: HttpsResponse): string | undefined {
  if (res.status !== 403) return undefined;
  return "auth.conf must allow this master's certname on /puppet-ca/v1/certificate_status; see the README";
}
