/**
 * The scripted Puppet agent of a chaos run: for every bake it sees in `awaiting_report` it
 * sends one changed run's report, first to the sidecar the plan names for the group, and on
 * any failure (connection refused or cut by a kill, store unavailable) to the other one,
 * again and again, as the report processor's retry and spool would. It keeps what it sent
 * and every answer, for the checks.
 */
import type { MysqlStore } from '../../runtime/store/mysql-store.ts';
import type { Bake } from '../../runtime/store/store.ts';
import { reportFor } from '../support/bake-harness.ts';
import { callOnce } from './call.ts';
import type { ChaosPlan } from './plan.ts';

export interface SentReport {
  readonly bakeId: string;
  readonly group: string;
  readonly certname: string;
  readonly transactionUuid: string;
  /** One entry per attempt: `recorded`, `duplicate`, ... or what went wrong. */
  readonly answers: string[];
  /** The first definite answer (a report state); null while none came. */
  final: string | null;
}

/** A defect the harness can be told to have, to show that a failing seed fails again the same way. */
export type Defect = 'lose-report' | null;

const RETRY_MS = 200;
const WATCH_MS = 200;

export class ScriptedAgent {
  readonly sent = new Map<string, SentReport>();
  /** Bakes seen in awaiting_report, by id. */
  readonly sawWaiting = new Set<string>();
  /** Store reads that failed (MariaDB restarting), retried at the next look. */
  failedLooks = 0;
  readonly #plan: ChaosPlan;
  readonly #store: MysqlStore;
  readonly #sockets: readonly string[];
  readonly #defect: Defect;
  readonly #inFlight = new Set<Promise<void>>();
  #stopped = false;
  #loop: Promise<void> | undefined;

  constructor(plan: ChaosPlan, store: MysqlStore, sockets: readonly string[], defect: Defect) {
    this.#plan = plan;
    this.#store = store;
    this.#sockets = sockets;
    this.#defect = defect;
  }

  /** Watches the store until stop(); `onLook` sees every successful look at the bakes. */
  start(onLook: (bakes: readonly Bake[]) => void): void {
    this.#loop = (async () => {
      while (!this.#stopped) {
        let bakes: Bake[] | undefined;
        try {
          bakes = await this.#store.listBakes();
        } catch {
          this.failedLooks += 1;
        }
        if (bakes) {
          for (const bake of bakes) if (bake.state === 'awaiting_report' && bake.certname !== null) this.#answer(bake);
          onLook(bakes);
        }
        await new Promise((resolve) => setTimeout(resolve, WATCH_MS));
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
    await Promise.all(this.#inFlight);
  }

  #answer(bake: Bake): void {
    this.sawWaiting.add(bake.id);
    if (this.sent.has(bake.id)) return;
    const certname = bake.certname!;
    // Fixed per bake: a retry is the same report again, as the report processor resends it.
    const transactionUuid = `${certname}-chaos-${this.#plan.seed}`;
    const entry: SentReport = { bakeId: bake.id, group: bake.group_name, certname, transactionUuid, answers: [], final: null };
    this.sent.set(bake.id, entry);
    const report = { ...reportFor(certname), transaction_uuid: transactionUuid };
    const task = this.#send(entry, report).finally(() => this.#inFlight.delete(task));
    this.#inFlight.add(task);
  }

  async #send(entry: SentReport, report: Record<string, unknown>): Promise<void> {
    let target = this.#plan.reportFirst[entry.group] ?? 0;
    while (!this.#stopped) {
      const socket = this.#sockets[target]!;
      try {
        const reply = await callOnce(socket, 'report.submit', report);
        if (reply.result) {
          entry.answers.push(String(reply.result.state));
          entry.final = String(reply.result.state);
          break;
        }
        entry.answers.push(`error ${reply.error?.message ?? 'without a message'}`);
      } catch (error) {
        entry.answers.push(`failed: ${(error as Error).message}`);
      }
      target = (target + 1) % this.#sockets.length;
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
    // The injected defect: the harness keeps a record of a report other than the one it sent.
    if (this.#defect === 'lose-report' && entry.group === this.#plan.defectGroup) {
      this.sent.set(entry.bakeId, { ...entry, transactionUuid: `${entry.transactionUuid}-forgotten` });
    }
  }
}
