export {
  LeaseClient,
  type GrantOptions,
  type KeepAliveOnceResult,
  type LeaseTimeToLive,
  type TimeToLiveOptions,
} from './lease-client.js';
export { Lease, type KeepAliveAck, type LeaseEvents, type LeaseLossReason } from './lease.js';
