/**
 * Fast non-cryptographic string hashing for the consistent-hash ring, hand-written so that every
 * process (and every Node version) places keys and instances identically.
 *
 * Strings are hashed over their UTF-16 code units (what charCodeAt returns), which is stable across
 * JavaScript runtimes; no UTF-8 encoding pass on the hot path.
 */

/**
 * murmur3's 32-bit finalizer: a bijection on 32-bit integers with full avalanche. FNV-1a alone
 * mixes its last characters poorly ("key-1" and "key-2" land close together); this pass spreads
 * them over the whole ring.
 */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a (32-bit) over UTF-16 code units, finalised with fmix32. An unsigned 32-bit integer. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/**
 * A second, independent 32-bit hash (a murmur-style multiply-rotate over code units). With hash32
 * it gives each instance 64 bits of identity, so two instance ids practically never share all
 * their ring points.
 */
export function hash32b(s: string): number {
  let h = 0x9747b28c;
  for (let i = 0; i < s.length; i++) {
    let k = Math.imul(s.charCodeAt(i), 0xcc9e2d51);
    k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
    h ^= k;
    h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  }
  return fmix32(h ^ s.length);
}

/**
 * The i-th virtual-node position of an instance whose id hashes to (h1, h2): double hashing
 * h1 + i·h2 with h2 forced odd (so the i·h2 are distinct mod 2³²), then fmix32. This costs one
 * multiply per virtual node instead of hashing an "id#i" string per node.
 */
export function vnodePoint(h1: number, h2: number, i: number): number {
  return fmix32((h1 + Math.imul(i, h2 | 1)) >>> 0);
}
