import { EventEmitter } from 'node:events';
import { compare, op, type Client, type LeaseLostError } from '@etcd-ts/client';
import { callSafely } from './call-safely.js';
import { pause } from './pause.js';
import { Session } from './session.js';
import type { RegisterOptions, ServiceInstance } from './service-registry-types.js';

export interface RegistrationEvents {
  /** The instance was (re-)registered under a new lease; `count` is 1 for the first registration. */
  registered: [leaseId: bigint, count: number];
  /** The registration's lease was lost; a new registration follows (unless deregistered). */
  lost: [error: LeaseLostError];
  /** Registering failed; it is tried again after a pause. Emitted only when someone listens. */
  error: [error: Error];
}

/**
 * A live registration: the instance's key, attached to a session lease kept
 * alive in the background. When the lease is lost (expired, revoked by
 * someone else, or the client could not renew it in time), the instance is
 * registered again under a new lease, until deregister().
 */
export class Registration extends EventEmitter<RegistrationEvents> implements AsyncDisposable {
  /** Resolves once the instance is first registered; rejects if deregistered (or failing for good) before. */
  readonly ready: Promise<void>;
  private session: Session | undefined;
  private count = 0;
  private readonly stop = new AbortController();
  private readonly running: Promise<void>;
  private resolveReady!: () => void;
  private rejectReady!: (err: Error) => void;
  private deregistering: Promise<void> | undefined;
  private readonly userSignal: AbortSignal | undefined;
  private readonly onUserAbort = (): void => void this.deregister();

  /** Made by ServiceRegistry.register(). */
  constructor(
    private readonly client: Client,
    readonly service: string,
    readonly key: string,
    readonly instance: ServiceInstance,
    private readonly options: RegisterOptions,
  ) {
    super();
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => {});
    this.userSignal = options.signal;
    this.userSignal?.addEventListener('abort', this.onUserAbort, { once: true });
    this.running = this.run();
  }

  /** Lease of the current registration (undefined between a loss and the next registration). */
  get leaseId(): bigint | undefined {
    const s = this.session;
    return s && !s.signal.aborted ? s.leaseId : undefined;
  }

  /** How many times the instance was registered (1 + re-registrations after losses). */
  get registrations(): number {
    return this.count;
  }

  get active(): boolean {
    return !this.stop.signal.aborted;
  }

  /** Removes the instance (its key is deleted and its lease revoked) and stops re-registering. Idempotent. */
  deregister(): Promise<void> {
    this.deregistering ??= (async () => {
      this.stop.abort();
      this.userSignal?.removeEventListener('abort', this.onUserAbort);
      this.rejectReady(new Error(`registration of ${this.key} withdrawn`));
      await this.running;
      const s = this.session;
      this.session = undefined;
      if (s) {
        // Only our own registration: another owner of the ID may have replaced it.
        await this.client
          .txn()
          .if(compare.lease(this.key, '=', s.leaseId))
          .then(op.delete(this.key))
          .commit()
          .catch(() => undefined);
        await s.close();
      }
    })();
    return this.deregistering;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.deregister();
  }

  private async run(): Promise<void> {
    const stop = this.stop.signal;
    const base = Math.max(1, this.options.retryDelayMs ?? 500);
    let delay = base;
    const value = JSON.stringify({
      id: this.instance.id,
      address: this.instance.address,
      ...(this.instance.meta === undefined ? {} : { meta: this.instance.meta }),
    });
    const stopped = new Promise<undefined>((r) => stop.addEventListener('abort', () => r(undefined), { once: true }));
    while (!stop.aborted) {
      let session: Session | undefined;
      try {
        session = await Session.create(this.client, { ttl: this.options.ttl ?? 10 });
        if (stop.aborted) {
          await session.close();
          return;
        }
        this.session = session;
        await this.client.put(this.key, value, { lease: session.leaseId, signal: AbortSignal.any([stop, session.signal]) });
        this.count++;
        delay = base;
        this.resolveReady();
        this.safeEmit('registered', session.leaseId, this.count);
        const lost = await Promise.race([session.lost, stopped]);
        if (lost === undefined || stop.aborted) return;
        this.safeEmit('lost', lost);
        // Register again at once (a closed client fails the next attempt for good).
      } catch (err) {
        if (stop.aborted) return;
        if (session && !session.signal.aborted) await session.close().catch(() => undefined);
        const e = err instanceof Error ? err : new Error(String(err));
        if ((e as { code?: unknown }).code === 'CLIENT_CLOSED') return this.fail(e);
        if (this.listenerCount('error') > 0) this.safeEmit('error', e);
        await pause(delay, stop);
        delay = Math.min(base * 10, delay * 2);
      }
    }
  }

  private fail(err: Error): void {
    this.stop.abort();
    this.rejectReady(err);
  }

  private safeEmit<K extends keyof RegistrationEvents>(name: K, ...args: RegistrationEvents[K]): void {
    callSafely(() => (this.emit as (n: K, ...a: RegistrationEvents[K]) => boolean)(name, ...args));
  }
}
