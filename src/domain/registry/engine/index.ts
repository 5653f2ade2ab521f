/**
 * The registry's pure engines: load balancers, the eligibility filter with Envoy's panic
 * threshold, the circuit breaker and call statistics. No database, no GraphQL, no clock: time is
 * always an argument. (bench.ts, which does read a clock, is deliberately not exported here.)
 */
export * from "./balancers";
export * from "./circuit-breaker";
export * from "./call-stats";
export * from "./eligibility";
export { seededRandom } from "../../../lib/seeded-random";
