import type { ConfState, HardState, Snapshot } from './types.js';

export const emptyConfState: ConfState = { voters: [], learners: [] };

/** The zero snapshot: index 0, term 0, no configuration. */
export const emptySnapshot: Snapshot = {
  metadata: { index: 0, term: 0, confState: emptyConfState },
  data: new Uint8Array(0),
};

export function isEmptySnap(s: Snapshot | undefined): boolean {
  return s === undefined || s.metadata.index === 0;
}

export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === 0n && hs.commit === 0;
}

export function isHardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export function isEmptyConfState(cs: ConfState): boolean {
  return cs.voters.length === 0 && cs.learners.length === 0;
}
