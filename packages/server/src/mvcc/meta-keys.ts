/** Keys of the meta bucket written by the store, with etcd's names and encodings. */

/** The raft index of the last applied entry: 8-byte big-endian unsigned. */
export const CONSISTENT_INDEX_KEY = Buffer.from('consistent_index');
/** The revision of the last requested compaction: 17-byte revision key (sub 0). */
export const SCHEDULED_COMPACT_KEY = Buffer.from('scheduledCompactRev');
/** The revision of the last completed compaction: 17-byte revision key (sub 0). */
export const FINISHED_COMPACT_KEY = Buffer.from('finishedCompactRev');
