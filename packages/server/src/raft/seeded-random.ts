/** A source of uniformly distributed numbers in [0, 1), injected so that raft stays deterministic. */
export type RandomSource = () => number;

/**
 * A small deterministic PRNG (mulberry32). The same seed always yields the same
 * sequence, which makes election timeouts reproducible in tests and simulations.
 */
export function seededRandom(seed: number): RandomSource {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
