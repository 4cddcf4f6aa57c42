#!/usr/bin/env node
// The etcd-ts server executable: parses etcd's flags and runs until SIGTERM/SIGINT.
import v8 from 'node:v8';

// A member keeps a large, long-lived index and churns through short-lived request
// objects; V8's default heap growth then holds several times the live heap as
// garbage. A 50% growth step keeps resident memory within reach of etcd's for
// about a tenth more CPU per request (docs/adr/0002-v8-heap-growth.md).
if (!/heap-growing-percent/.test(process.env.NODE_OPTIONS ?? '')) v8.setFlagsFromString('--heap-growing-percent=50');

const { main } = await import('../dist/src/bin/main.js');
main(process.argv.slice(2), process.env).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
    // main() resolves once the member is closed: everything acknowledged is durable and every
    // file is closed. A handle left behind (e.g. a client connection still draining) must not
    // keep a stopped member alive, as a supervisor waits for the process to exit.
    setTimeout(() => process.exit(), 200).unref();
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
