/**
 * The server a recipe suite runs against (test/harness/target.ts), the
 * clients its tests open (closed after the suite) and their sessions (closed
 * after each test that opened them):
 *
 * ```ts
 * const suite = new SuiteTarget({ callTimeoutMs: 10_000 });
 * const { client } = suite;
 * test.before(suite.start);
 * test('...', async () => { await client().put('k', 'v'); });
 * test.after(suite.stop);
 * ```
 */
import { Client, type ClientOptions } from '@etcd-ts/client';
import { Session } from '@etcd-ts/recipes';
import { useTarget, type Target } from '../harness/target.js';

export class SuiteTarget {
  private server: Target | undefined;
  private readonly clients: Client[] = [];
  private readonly sessions: Session[] = [];

  constructor(private readonly opts: { readonly callTimeoutMs: number }) {}

  /** The server (once started). */
  get target(): Target {
    if (!this.server) throw new Error('the suite target is not started');
    return this.server;
  }

  /** Spawns (or connects to) the target: a test.before hook. */
  readonly start = async (): Promise<void> => {
    this.server = await useTarget();
  };

  /** A client of its own to `endpoints` (default: the target's), closed by stop(); `options` override the suite's. */
  readonly client = (endpoints: string[] = this.target.endpoints, options: Partial<ClientOptions> = {}): Client => {
    const c = new Client({ endpoints, callTimeoutMs: this.opts.callTimeoutMs, ...options });
    this.clients.push(c);
    return c;
  };

  /** A session on `client` (TTL 10 s unless given), closed by closeSessions(). */
  async session(client: Client, ttl = 10): Promise<Session> {
    const s = await Session.create(client, { ttl });
    this.sessions.push(s);
    return s;
  }

  /** Closes the sessions opened by session() (all at once): a test.after.each step. */
  readonly closeSessions = async (): Promise<void> => {
    await Promise.all(this.sessions.splice(0).map((s) => s.close()));
  };

  /** Closes every client opened by client(), then stops the target: the suite's last test.after step. */
  readonly stop = async (): Promise<void> => {
    await Promise.allSettled(this.clients.splice(0).map((c) => c.close()));
    await this.server?.dispose();
  };
}

/** An error's name (its text when it is not an Error). */
export const errName = (err: unknown): string => (err instanceof Error ? err.name : String(err));
