/**
 * Examples with several processes fork their own main.js with a role
 * argument (`node main.js worker 2`). The parent talks to each child over the
 * IPC channel, and stops every child by PID at the end: first politely (a
 * `{ type: 'stop' }` message), then SIGKILL for any child still running.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { sleep } from './run.js';

export interface Child<In, Out> {
  readonly name: string;
  readonly pid: number;
  readonly process: ChildProcess;
  /** Resolves with the exit code (or the signal's name) once the child is gone. */
  readonly exited: Promise<number | string>;
  send(message: In | StopMessage): void;
  on(listener: (message: Out) => void): void;
}

export interface StopMessage {
  readonly type: 'stop';
}

export class Children<In, Out> {
  private readonly all: Child<In, Out>[] = [];

  constructor() {
    // Last resort: never leave a child behind, even when the parent fails.
    process.on('exit', () => this.killAll());
  }

  /** Forks this program (process.argv[1]) with `role` and args; the child inherits the environment plus `env`. */
  fork(name: string, role: string, args: string[] = [], env: Record<string, string> = {}): Child<In, Out> {
    const cp = fork(process.argv[1] as string, [role, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    if (cp.pid === undefined) throw new Error(`could not start ${name}`);
    const exited = new Promise<number | string>((resolve) => cp.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
    const child: Child<In, Out> = {
      name,
      pid: cp.pid,
      process: cp,
      exited,
      send: (m) => {
        if (cp.connected) cp.send(m as object);
      },
      on: (listener) => void cp.on('message', (m) => listener(m as Out)),
    };
    this.all.push(child);
    return child;
  }

  /** The children still running. */
  live(): Child<In, Out>[] {
    return this.all.filter((c) => c.process.exitCode === null && c.process.signalCode === null);
  }

  /** SIGKILL one child by PID and wait until it is gone. */
  async kill(child: Child<In, Out>): Promise<void> {
    if (child.process.exitCode === null && child.process.signalCode === null) process.kill(child.pid, 'SIGKILL');
    await child.exited;
  }

  /** Asks every live child to stop, waits up to graceMs, then SIGKILLs the rest by PID. */
  async stopAll(graceMs = 5000): Promise<void> {
    const live = this.live();
    for (const c of live) c.send({ type: 'stop' });
    await Promise.race([Promise.all(live.map((c) => c.exited)), sleep(graceMs)]);
    for (const c of this.live()) await this.kill(c);
  }

  private killAll(): void {
    for (const c of this.live()) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/** In a child: the messages from the parent; the child exits when the parent goes away. */
export function parentChannel<In, Out>(): { send(message: Out): void; on(listener: (message: In | StopMessage) => void): void } {
  if (!process.send) throw new Error('this role runs only as a child of the example (started by its main process)');
  process.on('disconnect', () => process.exit(1));
  return {
    send: (m) => {
      if (process.connected) process.send?.(m);
    },
    on: (listener) => void process.on('message', (m) => listener(m as In | StopMessage)),
  };
}
