import type { EntityManager } from "typeorm";
import type { Database } from "../../db/database";
import type { RegistryEvents } from "./events";
import { type HealthChange, type InstanceRow, insertHealthEvents, iso, queryRows, toInstance } from "./store";
import { InstanceHealth } from "./types";

/** The reason prefix of a TTL expiry: a heartbeat (or re-registration) clears exactly this state. */
export const MISSED_HEARTBEATS = "missed heartbeats";

export function missedHeartbeats(row: Pick<InstanceRow, "health" | "health_reason">): boolean {
  return row.health === InstanceHealth.CRITICAL && (row.health_reason ?? "").startsWith(MISSED_HEARTBEATS);
}

/**
 * Every health change goes through here: the row (with health_changed_at and critical_since),
 * a history row with its reason, and — once the transaction commits — an event on the tenant's
 * SERVICE_HEALTH_CHANGED topic. A new reason for the same health updates the row only.
 */
export class HealthLog {
  constructor(
    private readonly db: Database,
    private readonly events: RegistryEvents,
  ) {}

  /** Sets the health of a row locked by the caller's transaction; returns the updated row. */
  async change(m: EntityManager, row: InstanceRow, health: InstanceHealth, reason: string | null, now: number): Promise<InstanceRow> {
    const changed = row.health !== health;
    if (!changed && row.health_reason === reason) return row;
    const [updated] = await queryRows<Partial<InstanceRow>>(
      m,
      `UPDATE service_instances SET health = $3, health_reason = $4,
         health_changed_at = CASE WHEN health <> $3 THEN $5::timestamptz ELSE health_changed_at END,
         critical_since = CASE WHEN $3 = 'CRITICAL' THEN COALESCE(critical_since, $5::timestamptz) ELSE NULL END
       WHERE tenant_id = $1 AND id = $2 RETURNING *`,
      [row.tenant_id, row.id, health, reason, iso(now)],
    );
    const next: InstanceRow = { ...row, ...updated };
    if (changed) await this.recorded(m, [{ row: next, previous: row.health }], now);
    return next;
  }

  /**
   * Records changes already written to the rows (bulk updates of the sweep): history rows now,
   * events after commit. `row` is the row after the change.
   */
  async recorded(m: EntityManager, changes: ReadonlyArray<{ row: InstanceRow; previous: InstanceHealth | null }>, now: number): Promise<void> {
    if (changes.length === 0) return;
    const history: HealthChange[] = changes.map(({ row, previous }) => ({
      tenantId: row.tenant_id,
      serviceName: row.service_name,
      instance: row.id,
      instanceId: row.instance_id,
      previous,
      health: row.health,
      reason: row.health_reason,
      at: now,
    }));
    await insertHealthEvents(m, history);
    this.published(changes, now);
  }

  /** Publishes changes whose history rows the caller wrote itself, once its transaction commits. */
  published(changes: ReadonlyArray<{ row: InstanceRow; previous: InstanceHealth | null }>, now: number): void {
    this.db.afterCommit(() => {
      for (const { row, previous } of changes) {
        this.events.healthChanged({ instance: toInstance(row, now), previous, health: row.health, reason: row.health_reason, at: iso(now) });
      }
    });
  }
}
