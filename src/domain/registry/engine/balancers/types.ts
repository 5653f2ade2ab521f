/**
 * The load-balancer contract. A balancer is a pure picker: no clock, no I/O, randomness only
 * through `ctx.random`, so tests and replays are exact.
 *
 * Contract shared by every strategy:
 * - `pick` never throws and returns `undefined` only for an empty candidate list.
 * - Weight 0 (or a negative or non-finite weight) means "never picked", unless every candidate has
 *   such a weight, in which case all count as weight 1: a service whose weights were all zeroed
 *   still answers rather than going dark.
 * - The returned object is one of the `candidates` passed to this call (never a cached copy), so
 *   its `activeRequests` is the caller's current figure.
 * - An instance is kept per (tenant, service) by the caller and may hold state across picks.
 *   The candidate list may change between calls (instances come and go, in any order), so state
 *   is keyed by candidate id and never by position.
 */

export interface Candidate {
  id: string;
  weight: number;
  activeRequests: number;
}

export interface PickContext {
  /** routing key for CONSISTENT_HASH (a user id, a session id); ignored by the other strategies */
  hashKey?: string | null;
  /** uniform in [0, 1); production passes Math.random, tests a seeded generator */
  random: () => number;
}

export interface Balancer {
  pick(candidates: readonly Candidate[], ctx: PickContext): Candidate | undefined;
}

export type Strategy = "ROUND_ROBIN" | "LEAST_CONNECTIONS" | "WEIGHTED" | "RANDOM" | "CONSISTENT_HASH" | "POWER_OF_TWO";

export const STRATEGIES: readonly Strategy[] = [
  "ROUND_ROBIN",
  "LEAST_CONNECTIONS",
  "WEIGHTED",
  "RANDOM",
  "CONSISTENT_HASH",
  "POWER_OF_TWO",
];
