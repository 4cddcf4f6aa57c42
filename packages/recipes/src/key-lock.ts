import { compare, type CallOptions, type Cmp, type Op, type TxnBuilder, type TxnResult } from '@etcd-ts/client';
import { LockReleasedError, NotLockOwnerError } from './mutex-errors.js';
import { deleteIfCreatedAt, type Holding } from './mutex-support.js';
import type { Session } from './session.js';

/**
 * What Mutex, RWMutex and Semaphore share: a lock held through one key under
 * `<name>/` (its create revision is the fencing token), the signal that aborts
 * when the holding ends, the ownership compare, txns guarded by it, and
 * release. One acquisition runs at a time per object (`busy`).
 */
export abstract class KeyLock implements AsyncDisposable {
  /** `name + '/'`: the prefix of every contender's key. */
  readonly prefix: string;
  /** The held key, while held (set by the subclass's acquisition). */
  protected holding: Holding | undefined;
  /** An acquisition of this object is in progress. */
  protected busy = false;

  constructor(
    readonly session: Session,
    readonly name: string,
  ) {
    this.prefix = `${name}/`;
  }

  /** The create revision of the held key; throws NotLockOwnerError when not held. */
  get fencingToken(): number {
    return this.held().createRevision;
  }

  /**
   * Aborted when the holding ends: the session is lost (reason
   * LeaseLostError), the key is deleted by someone else (LockLostError) or it
   * is released (LockReleasedError). An aborted signal when not held.
   */
  get signal(): AbortSignal {
    return this.holding?.signal ?? AbortSignal.abort(new NotLockOwnerError(this.unheldKey()));
  }

  /**
   * The compare that holds only while this holder's key exists with its
   * create revision (never true when not held).
   */
  isOwner(): Cmp {
    const h = this.holding;
    return compare.createRevision(h?.key ?? this.unheldCompareKey(), '=', h?.createRevision ?? -1);
  }

  /** A txn already conditioned on `isOwner()`; add compares and ops. */
  txn(): TxnBuilder {
    return this.session.client.txn().if(this.isOwner());
  }

  /** Runs ops in a txn only while this holder still holds the key; throws NotLockOwnerError otherwise. */
  async guard(...ops: Op[]): Promise<TxnResult> {
    const res = await this.txn().then(...ops).commit();
    if (!res.succeeded) throw new NotLockOwnerError(this.holding?.key ?? this.unheldKey());
    return res;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.releaseHeld();
  }

  /** The key NotLockOwnerError names when nothing is held. */
  protected unheldKey(): string {
    return this.prefix;
  }

  /** The key isOwner() compares when nothing is held. */
  protected unheldCompareKey(): string {
    return `${this.prefix}\0`;
  }

  protected held(): Holding {
    if (!this.holding) throw new NotLockOwnerError(this.unheldKey());
    return this.holding;
  }

  /**
   * Deletes the held key if it is still this holder's; a no-op when not held.
   * On failure the key stays held here (retry, or let the session's lease end it).
   */
  protected async releaseHeld(opts: CallOptions = {}): Promise<void> {
    const h = this.holding;
    if (!h) return;
    await deleteIfCreatedAt(this.session.client, h.key, h.createRevision, opts);
    if (this.holding === h) this.holding = undefined;
    h.end(new LockReleasedError(h.key));
  }

  /** Runs one acquisition, refusing a second concurrent one of the same object. */
  protected async exclusively<T>(what: string, acquisition: () => Promise<T>): Promise<T> {
    if (this.busy) throw new Error(what);
    this.busy = true;
    try {
      return await acquisition();
    } finally {
      this.busy = false;
    }
  }
}
