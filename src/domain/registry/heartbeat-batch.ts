import type { Database } from "../../db/database";
import { INSTANCE_COLUMNS, type InstanceRow, iso } from "./store";

/** Heartbeats written by one statement at most; more wait for the next one. */
const MAX_BATCH = 1_000;

interface Waiter {
  resolve: (row: InstanceRow | undefined) => void;
  reject: (err: unknown) => void;
}

interface Beat {
  tenantId: string;
  instanceId: string;
  at: number;
  waiters: Waiter[];
}

/**
 * Plain heartbeats (no health, no note) coalesced into one `UPDATE … FROM unnest(…) RETURNING`:
 * every heartbeat that arrives while the previous statement runs (or in the same turn of the event
 * loop) goes into the next one. Group commit: one statement in flight per process, so a burst of
 * N heartbeats costs about one round trip instead of N (bench:registry).
 *
 * Contract: each caller gets its own row, joined by (tenant_id, instance_id), so a tenant never
 * touches another tenant's instance; undefined when the instance does not exist in that tenant. A
 * failed statement fails every caller of that batch (and only them). The rows are locked in key
 * order, so concurrent batches of other processes wait for each other instead of deadlocking.
 */
export class HeartbeatBatcher {
  private pending = new Map<string, Beat>();
  private running = false;
  private scheduled = false;

  constructor(private readonly db: Database) {}

  /** Sets last_heartbeat_at = at; the row after the update (with the service's name and policy). */
  beat(tenantId: string, instanceId: string, at: number): Promise<InstanceRow | undefined> {
    return new Promise((resolve, reject) => {
      const key = `${tenantId}\u0000${instanceId}`;
      let beat = this.pending.get(key);
      if (!beat) this.pending.set(key, (beat = { tenantId, instanceId, at, waiters: [] }));
      beat.at = Math.max(beat.at, at);
      beat.waiters.push({ resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.running || this.pending.size === 0) return;
    this.running = true;
    const batch: Beat[] = [];
    for (const [key, beat] of this.pending) {
      batch.push(beat);
      this.pending.delete(key);
      if (batch.length >= MAX_BATCH) break;
    }
    try {
      const rows = await this.write(batch);
      const byKey = new Map(rows.map((r) => [`${r.tenant_id}\u0000${r.instance_id}`, r]));
      for (const beat of batch) {
        const row = byKey.get(`${beat.tenantId}\u0000${beat.instanceId}`);
        // each caller gets its own copy: callers go on to change theirs
        for (const w of beat.waiters) w.resolve(row && { ...row });
      }
    } catch (err) {
      for (const beat of batch) for (const w of beat.waiters) w.reject(err);
    } finally {
      this.running = false;
      if (this.pending.size > 0) this.schedule();
    }
  }

  private write(batch: readonly Beat[]): Promise<InstanceRow[]> {
    return this.db.prepared<InstanceRow>(
      "vigil_heartbeat_batch",
      `WITH b AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) AS b(tenant_id, instance_id, at)),
            l AS (SELECT t.tenant_id, t.id, b.at FROM service_instances t JOIN b ON t.tenant_id = b.tenant_id AND t.instance_id = b.instance_id
                   ORDER BY t.tenant_id, t.id FOR UPDATE OF t),
            i AS (UPDATE service_instances t SET last_heartbeat_at = l.at FROM l WHERE t.tenant_id = l.tenant_id AND t.id = l.id RETURNING t.*)
       SELECT ${INSTANCE_COLUMNS} FROM i JOIN services s ON s.tenant_id = i.tenant_id AND s.id = i.service_id`,
      [batch.map((b) => b.tenantId), batch.map((b) => b.instanceId), batch.map((b) => iso(b.at))],
    );
  }
}
