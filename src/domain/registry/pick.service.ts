import { LRUCache } from "lru-cache";
import type { Database } from "../../db/database";
import { BadUserInputError, UnavailableError } from "../../errors";
import type { Logger } from "../../lib/logger";
import { type Session, tenantOf } from "../auth";
import { BALANCERS, type Balancer, type Candidate, type Eligibility, acquire, currentState, initialBreakerState, selectEligible } from "./engine";
import type { RegistryEvents } from "./events";
import { effectivePolicy } from "./policy";
import type { PickSnapshot, PickSnapshotInstance as SnapshotInstance, PickSnapshots } from "./pick-snapshots";
import { INSTANCE_COLUMNS, INSTANCE_FROM, type InstanceRow, queryRows, toInstance } from "./store";
import type { CircuitState, InstanceRecord, LoadBalancingStrategy } from "./types";
import { LIMITS, serviceNameProblem } from "./validation";

interface PickCandidate extends Candidate {
  health: InstanceRecord["health"];
  circuit: CircuitState;
  instance: SnapshotInstance;
}

/** Balancers kept per (tenant, service, strategy); an LRU so that memory stays bounded. */
const BALANCER_CACHE_SIZE = 10_000;
/** How often a panicking service is logged, per (tenant, service) and process. */
const PANIC_LOG_INTERVAL_MS = 60_000;
/** A picked instance that changed under us (gone, or its last trial permit taken) is skipped this many times. */
const MAX_ATTEMPTS = 3;
/** Snapshots found stale in a row before a pick stops checking the version (the service is changing constantly). */
const MAX_STALE = 2;

/**
 * Starts a request on instance $2 of tenant $1 if its circuit is CLOSED and, when $4 is given, the
 * service $3's instances_version is still $4. Always one row: current_version (null without $3),
 * then the instance's columns (null when nothing was updated). Exported for bench:registry.
 */
export const START_IF_CLOSED = `WITH v AS (SELECT instances_version FROM services WHERE tenant_id = $1 AND id = $3),
       i AS (UPDATE service_instances SET active_requests = active_requests + 1
              WHERE tenant_id = $1 AND id = $2 AND (breaker IS NULL OR breaker->>'state' = 'CLOSED')
                AND ($4::bigint IS NULL OR (SELECT instances_version FROM v) = $4::bigint) RETURNING *)
  SELECT (SELECT instances_version FROM v)::text AS current_version, x.*
    FROM (SELECT 1) one LEFT JOIN (SELECT ${INSTANCE_COLUMNS} FROM i JOIN services s ON s.tenant_id = i.tenant_id AND s.id = i.service_id) x ON true`;

/** START_IF_CLOSED's name as a prepared statement (Database.prepared). Exported for bench:registry. */
export const START_STATEMENT_NAME = "vigil_pick_start";

type Started = { kind: "started"; instance: InstanceRecord } | { kind: "stale" } | { kind: "refused" };

/**
 * pickInstance: take the service's candidates from this process's snapshot (pick-snapshots.ts),
 * filter them by health and circuit with Envoy's panic threshold (selectEligible), let the
 * strategy's balancer choose, then start the request: one statement increments active_requests if
 * the circuit is CLOSED and the service's instances_version still equals the snapshot's. A
 * different version means the snapshot is stale: it is reloaded and the choice made again, so no
 * pick is answered from stale membership, health, weight, circuit state or policy. A circuit that
 * is not CLOSED takes a locking transaction that asks the breaker with the row locked (taking a
 * HALF_OPEN trial permit, or moving OPEN → HALF_OPEN once the wait is over). reportCall ends the
 * request.
 *
 * Per process: the balancers (round-robin scores, consistent-hash rings), and the active-request
 * counts LEAST_CONNECTIONS and POWER_OF_TWO compare: this process's own picks and reports at once,
 * other processes' within REGISTRY_PICK_REFRESH_MS (like Envoy, whose counts are per proxy). Shared
 * through the row: active requests and breaker state.
 */
export class PickService {
  private readonly balancers = new LRUCache<string, Balancer>({ max: BALANCER_CACHE_SIZE });
  private readonly panicLogged = new LRUCache<string, number>({ max: BALANCER_CACHE_SIZE });

  constructor(
    private readonly db: Database,
    private readonly snapshots: PickSnapshots,
    private readonly events: RegistryEvents,
    private readonly log: Logger,
    private readonly random: () => number = Math.random,
  ) {}

  /**
   * The chosen instance. When nothing is available: UNAVAILABLE saying why (no instances
   * registered, all critical, all circuits open); the GraphQL field is then null.
   */
  async pick(session: Session, service: string, strategy: LoadBalancingStrategy | null | undefined, hashKey: string | null | undefined, now = Date.now()): Promise<InstanceRecord> {
    const tenantId = tenantOf(session, "registry:read");
    if (serviceNameProblem(service)) throw new UnavailableError(`service ${JSON.stringify(service)}: no instances registered`);
    if (hashKey != null && hashKey.length > LIMITS.hashKeyLength) {
      throw new BadUserInputError("hashKey", `must be at most ${LIMITS.hashKeyLength} characters`);
    }
    const excluded = new Set<string>();
    let stale = 0;
    let fresh = false;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; ) {
      const snapshot = await this.snapshots.get(tenantId, service, fresh, now);
      if (!snapshot) throw new UnavailableError(`service ${JSON.stringify(service)}: no instances registered`);
      const left = excluded.size === 0 ? snapshot.instances : snapshot.instances.filter((i) => !excluded.has(i.id));
      if (snapshot.instances.length > 0 && left.length === 0) break;
      const chosen = this.choose(tenantId, service, snapshot, left, strategy, hashKey, now);
      // after MAX_STALE stale snapshots in a row, the last fresh one is used without the check
      const started = await this.start(tenantId, chosen.id, stale < MAX_STALE ? snapshot : undefined, now);
      if (started.kind === "started") {
        this.snapshots.note(tenantId, service, chosen.id, started.instance.activeRequests, started.instance.breaker);
        return started.instance;
      }
      if (started.kind === "stale") {
        this.snapshots.drop(tenantId, service, snapshot.version);
        stale++;
        fresh = true;
        continue;
      }
      excluded.add(chosen.id);
      attempt++;
    }
    // rare: other picks took the last trial permits (or removals happened) between read and lock
    throw new UnavailableError(`service ${JSON.stringify(service)}: the chosen instances stopped admitting calls while being picked; try again`);
  }

  private choose(
    tenantId: string,
    service: string,
    snapshot: PickSnapshot,
    instances: readonly SnapshotInstance[],
    strategy: LoadBalancingStrategy | null | undefined,
    hashKey: string | null | undefined,
    now: number,
  ): SnapshotInstance {
    if (instances.length === 0) throw new UnavailableError(`service ${JSON.stringify(service)}: no instances registered`);
    const policy = snapshot.policy;
    let eligible: Eligibility<SnapshotInstance | PickCandidate>;
    if (instances === snapshot.instances && snapshot.allClosed) {
      // Every circuit CLOSED: eligibility depends on health alone, which cannot change without a new
      // snapshot, so it is computed once per snapshot (the balancers read the live activeRequests)
      snapshot.eligible ??= selectEligible(snapshot.instances, () => true, policy.panicThresholdPercent);
      eligible = snapshot.eligible;
    } else {
      const breakerPolicy = policy.circuitBreaker;
      const candidates: PickCandidate[] = instances.map((instance) => ({
        id: instance.id,
        weight: instance.weight,
        activeRequests: instance.activeRequests,
        health: instance.health,
        circuit: (instance.breaker === null || instance.breaker.state === "CLOSED" ? "CLOSED" : currentState(instance.breaker, breakerPolicy, now)) as CircuitState,
        instance,
      }));
      const byId = new Map(candidates.map((c) => [c.id, c]));
      // asked only for HALF_OPEN circuits: is a trial permit left? (acquire is pure; the permit is taken in start)
      const permits = (id: string) => acquire(byId.get(id)!.instance.breaker ?? initialBreakerState(), breakerPolicy, now).allowed;
      eligible = selectEligible(candidates, permits, policy.panicThresholdPercent);
    }
    if (eligible.candidates.length === 0) throw new UnavailableError(`service ${JSON.stringify(service)}: ${eligible.reason ?? "no instance available"}`);
    if (eligible.panic) this.logPanic(tenantId, service, eligible.reason);
    const use = strategy ?? policy.strategy;
    const key = `${tenantId}\u0000${service}\u0000${use}`;
    let balancer = this.balancers.get(key);
    if (!balancer) this.balancers.set(key, (balancer = BALANCERS[use]()));
    const picked = balancer.pick(eligible.candidates, { hashKey, random: this.random }) as SnapshotInstance | PickCandidate | undefined;
    if (!picked) throw new UnavailableError(`service ${JSON.stringify(service)}: no instance available`);
    return "instance" in picked ? picked.instance : picked;
  }

  /**
   * Starts the request on the chosen instance. With a snapshot, only if the service's
   * instances_version still equals the snapshot's ("stale" otherwise, nothing written). "refused":
   * the row is gone or no longer admits calls.
   */
  private async start(tenantId: string, id: string, snapshot: PickSnapshot | undefined, now: number): Promise<Started> {
    // A CLOSED circuit admits the call without changing the breaker (acquire): one conditional
    // statement starts the request. Anything else (OPEN, HALF_OPEN, or the row gone) takes the
    // locking transaction below, which asks the breaker with the row locked.
    // Active requests and breaker permits are soft state: committed asynchronously (see CommitMode)
    const [answer] = await this.db.preparedAsyncCommit<Partial<InstanceRow> & { current_version: string | null }>(START_STATEMENT_NAME, START_IF_CLOSED, [
      tenantId,
      id,
      snapshot?.serviceId ?? null,
      snapshot?.version ?? null,
    ]);
    if (snapshot && answer?.current_version !== snapshot.version) return { kind: "stale" };
    if (answer?.id) return { kind: "started", instance: toInstance(answer as InstanceRow, now) };
    // the breaker permit and the active request: soft state, committed asynchronously like the statement above
    const instance = await this.db.transaction(async (m) => {
      const [row] = await queryRows<InstanceRow>(
        m,
        `SELECT ${INSTANCE_COLUMNS} FROM ${INSTANCE_FROM} WHERE i.tenant_id = $1 AND i.id = $2 FOR UPDATE OF i`,
        [tenantId, id],
      );
      if (!row) return undefined;
      const policy = effectivePolicy(row.policy);
      const breaker = row.breaker ?? initialBreakerState();
      const asked = acquire(breaker, policy.circuitBreaker, now);
      if (!asked.allowed) return undefined;
      const breakerChanged = asked.state !== breaker;
      const [updated] = await queryRows<Partial<InstanceRow>>(
        m,
        `UPDATE service_instances SET active_requests = active_requests + 1${breakerChanged ? ", breaker = $3::jsonb" : ""}
         WHERE tenant_id = $1 AND id = $2 RETURNING active_requests, breaker`,
        breakerChanged ? [row.tenant_id, row.id, JSON.stringify(asked.state)] : [row.tenant_id, row.id],
      );
      const after = toInstance({ ...row, ...updated }, now);
      const transition = asked.transition;
      if (transition) this.db.afterCommit(() => this.events.circuitTransition(after, transition, now));
      return after;
    }, "asynchronous");
    return instance ? { kind: "started", instance } : { kind: "refused" };
  }

  private logPanic(tenantId: string, service: string, reason: string | undefined): void {
    const key = `${tenantId}\u0000${service}`;
    const last = this.panicLogged.get(key) ?? 0;
    if (Date.now() - last < PANIC_LOG_INTERVAL_MS) return;
    this.panicLogged.set(key, Date.now());
    this.log.warn({ tenantId, service, reason }, "pickInstance in panic mode");
  }
}
