/**
 * An interval tree over byte-string intervals (etcd's adt.IntervalTree with
 * StringAffineComparable ends): keys are latin1 strings of the key bytes, so
 * that `<` on strings is unsigned byte order. An interval [begin, end) with
 * end '' is unbounded above (it holds every key >= begin), as etcd's watch
 * ranges "from key" are.
 *
 * Each distinct interval is stored once with one value; the tree is an AVL
 * tree ordered by (begin, end) and augmented with the largest end of each
 * subtree, so that stabbing a point visits only subtrees that can hold it:
 * O(log n + k) for k results.
 *
 * Invariants: for every node, |height(left) - height(right)| <= 1; maxEnd is
 * the affine maximum of the ends in its subtree; the in-order sequence is
 * strictly increasing in (begin, end).
 */

interface Node<V> {
  readonly begin: string;
  readonly end: string;
  value: V;
  left: Node<V> | undefined;
  right: Node<V> | undefined;
  height: number;
  /** The affine maximum of the ends in this subtree ('' is above everything). */
  maxEnd: string;
}

/** Compares two interval ends, '' being greater than any other end. */
export function compareEnd(a: string, b: string): number {
  if (a === b) return 0;
  if (a === '') return 1;
  if (b === '') return -1;
  return a < b ? -1 : 1;
}

function compareInterval(begin: string, end: string, n: { begin: string; end: string }): number {
  if (begin !== n.begin) return begin < n.begin ? -1 : 1;
  return compareEnd(end, n.end);
}

/** Whether point p lies before end (end '' is unbounded). */
function beforeEnd(p: string, end: string): boolean {
  return end === '' || p < end;
}

function height<V>(n: Node<V> | undefined): number {
  return n === undefined ? 0 : n.height;
}

function update<V>(n: Node<V>): void {
  const l = n.left;
  const r = n.right;
  n.height = Math.max(height(l), height(r)) + 1;
  let m = n.end;
  if (l !== undefined && compareEnd(l.maxEnd, m) > 0) m = l.maxEnd;
  if (r !== undefined && compareEnd(r.maxEnd, m) > 0) m = r.maxEnd;
  n.maxEnd = m;
}

function rotateRight<V>(n: Node<V>): Node<V> {
  const l = n.left!;
  n.left = l.right;
  l.right = n;
  update(n);
  update(l);
  return l;
}

function rotateLeft<V>(n: Node<V>): Node<V> {
  const r = n.right!;
  n.right = r.left;
  r.left = n;
  update(n);
  update(r);
  return r;
}

function balance<V>(n: Node<V>): Node<V> {
  update(n);
  const bf = height(n.left) - height(n.right);
  if (bf > 1) {
    if (height(n.left!.left) < height(n.left!.right)) n.left = rotateLeft(n.left!);
    return rotateRight(n);
  }
  if (bf < -1) {
    if (height(n.right!.right) < height(n.right!.left)) n.right = rotateRight(n.right!);
    return rotateLeft(n);
  }
  return n;
}

export interface IntervalEntry<V> {
  readonly begin: string;
  readonly end: string;
  readonly value: V;
}

export class IntervalTree<V> {
  #root: Node<V> | undefined;
  #size = 0;

  /** Number of distinct intervals. */
  get size(): number {
    return this.#size;
  }

  /** The value stored for exactly [begin, end), if any. */
  find(begin: string, end: string): V | undefined {
    let n = this.#root;
    while (n !== undefined) {
      const c = compareInterval(begin, end, n);
      if (c === 0) return n.value;
      n = c < 0 ? n.left : n.right;
    }
    return undefined;
  }

  /** Stores value for [begin, end), replacing the value of an equal interval. */
  insert(begin: string, end: string, value: V): void {
    this.#root = this.#insert(this.#root, begin, end, value);
  }

  #insert(n: Node<V> | undefined, begin: string, end: string, value: V): Node<V> {
    if (n === undefined) {
      this.#size++;
      return { begin, end, value, left: undefined, right: undefined, height: 1, maxEnd: end };
    }
    const c = compareInterval(begin, end, n);
    if (c === 0) {
      n.value = value;
      return n;
    }
    if (c < 0) n.left = this.#insert(n.left, begin, end, value);
    else n.right = this.#insert(n.right, begin, end, value);
    return balance(n);
  }

  /** Removes [begin, end); returns whether it was present. */
  delete(begin: string, end: string): boolean {
    const before = this.#size;
    this.#root = this.#delete(this.#root, begin, end);
    return this.#size < before;
  }

  #delete(n: Node<V> | undefined, begin: string, end: string): Node<V> | undefined {
    if (n === undefined) return undefined;
    const c = compareInterval(begin, end, n);
    if (c < 0) {
      n.left = this.#delete(n.left, begin, end);
      return balance(n);
    }
    if (c > 0) {
      n.right = this.#delete(n.right, begin, end);
      return balance(n);
    }
    this.#size--;
    if (n.left === undefined) return n.right;
    if (n.right === undefined) return n.left;
    // Replace n by its in-order successor.
    let s = n.right;
    while (s.left !== undefined) s = s.left;
    const right = this.#removeMin(n.right);
    const repl: Node<V> = { begin: s.begin, end: s.end, value: s.value, left: n.left, right, height: 1, maxEnd: s.end };
    return balance(repl);
  }

  #removeMin(n: Node<V>): Node<V> | undefined {
    if (n.left === undefined) return n.right;
    n.left = this.#removeMin(n.left);
    return balance(n);
  }

  /** Calls fn with the value of every interval that holds point p (begin <= p < end). */
  stab(p: string, fn: (value: V, begin: string, end: string) => void): void {
    const visit = (n: Node<V> | undefined): void => {
      while (n !== undefined) {
        // Nothing in this subtree ends after p.
        if (!beforeEnd(p, n.maxEnd)) return;
        visit(n.left);
        // Every interval to the right begins at or after n.begin.
        if (n.begin > p) return;
        if (beforeEnd(p, n.end)) fn(n.value, n.begin, n.end);
        n = n.right;
      }
    };
    visit(this.#root);
  }

  /** Whether some interval holds point p. */
  intersects(p: string): boolean {
    const visit = (n: Node<V> | undefined): boolean => {
      while (n !== undefined) {
        if (!beforeEnd(p, n.maxEnd)) return false;
        if (visit(n.left)) return true;
        if (n.begin > p) return false;
        if (beforeEnd(p, n.end)) return true;
        n = n.right;
      }
      return false;
    };
    return visit(this.#root);
  }

  /** Every interval in (begin, end) order. */
  *entries(): IterableIterator<IntervalEntry<V>> {
    const stack: Node<V>[] = [];
    let n = this.#root;
    while (n !== undefined || stack.length > 0) {
      while (n !== undefined) {
        stack.push(n);
        n = n.left;
      }
      const top = stack.pop()!;
      yield { begin: top.begin, end: top.end, value: top.value };
      n = top.right;
    }
  }

  /** Checks the tree's invariants; throws on the first violation (for tests). */
  verify(): void {
    let count = 0;
    let prev: Node<V> | undefined;
    const check = (n: Node<V> | undefined): { h: number; max: string | undefined } => {
      if (n === undefined) return { h: 0, max: undefined };
      const l = check(n.left);
      if (prev !== undefined && compareInterval(n.begin, n.end, prev) <= 0) throw new Error('interval tree out of order');
      prev = n;
      count++;
      const r = check(n.right);
      if (Math.abs(l.h - r.h) > 1) throw new Error('interval tree unbalanced');
      if (n.height !== Math.max(l.h, r.h) + 1) throw new Error('interval tree height wrong');
      let m = n.end;
      if (l.max !== undefined && compareEnd(l.max, m) > 0) m = l.max;
      if (r.max !== undefined && compareEnd(r.max, m) > 0) m = r.max;
      if (m !== n.maxEnd) throw new Error('interval tree maxEnd wrong');
      return { h: n.height, max: m };
    };
    check(this.#root);
    if (count !== this.#size) throw new Error('interval tree size wrong');
  }
}
