/**
 * The load-balancing strategies, keyed by kind (one file per strategy). The caller keeps one
 * balancer per (tenant, service) and creates it through the registry, so adding a strategy is one
 * file and one line here; the Record type makes a missing strategy a compile error.
 */
import { ConsistentHashBalancer } from "./consistent-hash";
import { LeastConnectionsBalancer } from "./least-connections";
import { PowerOfTwoBalancer } from "./power-of-two";
import { RandomBalancer } from "./random";
import { RoundRobinBalancer } from "./round-robin";
import { type Balancer, type Strategy } from "./types";
import { WeightedBalancer } from "./weighted";

export const BALANCERS: Record<Strategy, () => Balancer> = {
  ROUND_ROBIN: () => new RoundRobinBalancer(),
  LEAST_CONNECTIONS: () => new LeastConnectionsBalancer(),
  WEIGHTED: () => new WeightedBalancer(),
  RANDOM: () => new RandomBalancer(),
  CONSISTENT_HASH: () => new ConsistentHashBalancer(),
  POWER_OF_TWO: () => new PowerOfTwoBalancer(),
};

export type { Balancer, Candidate, PickContext, Strategy } from "./types";
export { STRATEGIES } from "./types";
export { ConsistentHashBalancer, LeastConnectionsBalancer, PowerOfTwoBalancer, RandomBalancer, RoundRobinBalancer, WeightedBalancer };
