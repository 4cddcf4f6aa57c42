export * as etcdserverpb from './gen/etcdserverpb.js';
export * as mvccpb from './gen/mvccpb.js';
export * as authpb from './gen/authpb.js';
export * as v3lockpb from './gen/v3lockpb.js';
export * as v3electionpb from './gen/v3electionpb.js';
export * as leasepb from './gen/leasepb.js';
export * as raftpb from './gen/raftpb.js';
export * as etcdtspeerpb from './gen/etcdtspeerpb.js';

export { Writer } from './codec/writer.js';
export { Reader } from './codec/reader.js';
export { PreEncoded } from './codec/pre-encoded.js';
export { CodecError, type CodecErrorCode } from './codec/codec-error.js';
export type { MessageType } from './codec/message-type.js';
export { EMPTY_BUFFER, toBuffer } from './codec/to-buffer.js';

export * from './services.js';
export * from './rpctypes/index.js';
export * from './keys.js';
export * from './ids.js';
export { IdGenerator } from './id-generator.js';
