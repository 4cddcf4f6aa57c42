export { Watch, type WatchInit } from './watch.js';
export { Watcher, type WatcherEvents } from './watcher.js';
export type { WatchFilter, WatchOptions, WatchResponse } from './watch-options.js';
