export { Session, type SessionOptions, type SessionState, type SessionStateListener } from './session.js';
export { Mutex, type LockOptions } from './mutex.js';
export { LockLostError, LockReleasedError, LockTimeoutError, NotLockOwnerError } from './mutex-errors.js';
export type { WaitOptions } from './mutex-support.js';
export { RWMutex, type RWLockOptions, type RWMode } from './rw-mutex.js';
export { Semaphore, type AcquireOptions } from './semaphore.js';
export {
  Election,
  LeaderObserver,
  NotLeaderError,
  type CampaignOptions,
  type LeaderInfo,
  type ObserveOptions,
} from './election.js';
export {
  LeaderJob,
  LeaderJobStoppedError,
  type LeaderJobContext,
  type LeaderJobEvents,
  type LeaderJobOptions,
  type LeaderJobRun,
} from './leader-job.js';
export { Queue, type DequeueOptions, type QueueItem, type QueueOptions } from './queue.js';
export { PriorityQueue, priorityKey, MAX_PRIORITY } from './priority-queue.js';
export { Barrier, type BarrierClient } from './barrier.js';
export { DoubleBarrier, TooManyParticipantsError } from './double-barrier.js';
export {
  ServiceRegistry,
  Registration,
  ServiceDiscovery,
  type DiscoveredInstance,
  type DiscoveryEvents,
  type PickStrategy,
  type RegisterOptions,
  type RegistrationEvents,
  type ServiceInstance,
} from './service-registry.js';
export { ConfigWatcher, type ConfigClient, type ConfigWatcherEvents } from './config-watcher.js';
export {
  ConfigClosedError,
  ConfigInvalidError,
  type ConfigDecode,
  type ConfigInput,
  type ConfigSource,
  type ConfigWatcherOptions,
} from './config-watcher-options.js';
export {
  stm,
  StmConflictError,
  StmTxClosedError,
  STM_ISOLATION_LEVELS,
  type StmClient,
  type StmIsolation,
  type StmOptions,
  type StmResult,
  type StmTx,
} from './stm.js';
