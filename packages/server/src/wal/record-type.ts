/** Record types, numbered as in etcd's wal package. */
export const RecordType = {
  Metadata: 1,
  Entry: 2,
  HardState: 3,
  Crc: 4,
  Snapshot: 5,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

export function isRecordType(t: number): t is RecordType {
  return t >= RecordType.Metadata && t <= RecordType.Snapshot;
}
