#!/usr/bin/env node
// The etcd-ts server executable: parses etcd's flags and runs until SIGTERM/SIGINT.
import { main } from '../dist/src/bin/main.js';
main(process.argv.slice(2), process.env).then(
  (code) => { if (code !== undefined) process.exitCode = code; },
  (err) => { console.error(err); process.exit(1); },
);
