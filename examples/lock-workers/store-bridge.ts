/**
 * The "Redis" the workers share. ioredis-mock keeps its data in the memory
 * of the process that created it, so the store lives in the parent process
 * and the workers reach it through a tiny bridge over the IPC channel: each
 * request is one Redis command (GET, SET, or a fenced SET) and gets one reply.
 *
 * The fenced SET is the store-side half of fencing: it accepts a write only
 * if the token it carries is >= the last token the store has seen for that
 * key, and then remembers the new token. The check and the write are done
 * atomically: the parent runs fenced writes one after another (a promise
 * chain), and it is the only process that touches the store.
 */
import RedisMock from 'ioredis-mock';

export type StoreRequest =
  | { readonly type: 'store'; readonly id: number; readonly op: 'get'; readonly key: string }
  | { readonly type: 'store'; readonly id: number; readonly op: 'set'; readonly key: string; readonly value: string }
  | { readonly type: 'store'; readonly id: number; readonly op: 'fenced-set'; readonly key: string; readonly value: string; readonly token: number };

export interface StoreReply {
  readonly type: 'store-reply';
  readonly id: number;
  readonly value?: string | null;
  /** For fenced-set: whether the write was accepted, and the store's last token after it. */
  readonly accepted?: boolean;
  readonly lastToken?: number;
}

export interface FencedSetResult {
  readonly accepted: boolean;
  readonly lastToken: number;
}

/** Parent side: the ioredis-mock instance and the fencing check. */
export class StoreServer {
  readonly redis = new RedisMock();
  private fencedChain: Promise<unknown> = Promise.resolve();

  async handle(req: StoreRequest): Promise<StoreReply> {
    switch (req.op) {
      case 'get':
        return { type: 'store-reply', id: req.id, value: await this.redis.get(req.key) };
      case 'set':
        await this.redis.set(req.key, req.value);
        return { type: 'store-reply', id: req.id };
      case 'fenced-set': {
        const r = await this.fencedSet(req.key, req.value, req.token);
        return { type: 'store-reply', id: req.id, accepted: r.accepted, lastToken: r.lastToken };
      }
    }
  }

  /** SET key value, only if token >= the key's last token (kept in `<key>:fence`). */
  fencedSet(key: string, value: string, token: number): Promise<FencedSetResult> {
    const run = this.fencedChain.then(async (): Promise<FencedSetResult> => {
      const last = Number((await this.redis.get(`${key}:fence`)) ?? 0);
      if (token < last) return { accepted: false, lastToken: last };
      await this.redis.multi().set(`${key}:fence`, token).set(key, value).exec();
      return { accepted: true, lastToken: token };
    });
    this.fencedChain = run.catch(() => undefined);
    return run;
  }
}

/** Worker side: the same commands, sent to the parent. */
export class RemoteStore {
  private nextId = 0;
  private readonly pending = new Map<number, (reply: StoreReply) => void>();

  constructor(private readonly send: (req: StoreRequest) => void) {}

  /** Feed every message from the parent here; store replies are picked out. */
  receive(message: { type: string }): void {
    if (message.type !== 'store-reply') return;
    const reply = message as StoreReply;
    this.pending.get(reply.id)?.(reply);
    this.pending.delete(reply.id);
  }

  async get(key: string): Promise<string | null> {
    return (await this.call({ type: 'store', id: 0, op: 'get', key })).value ?? null;
  }

  async set(key: string, value: string): Promise<void> {
    await this.call({ type: 'store', id: 0, op: 'set', key, value });
  }

  async fencedSet(key: string, value: string, token: number): Promise<FencedSetResult> {
    const r = await this.call({ type: 'store', id: 0, op: 'fenced-set', key, value, token });
    return { accepted: r.accepted === true, lastToken: r.lastToken ?? 0 };
  }

  private call(req: StoreRequest): Promise<StoreReply> {
    const id = ++this.nextId;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.send({ ...req, id });
    });
  }
}
