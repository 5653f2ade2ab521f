import type { Database } from "../../db/database";
import { SILENCE_COLUMNS, type SilenceRecord, type SilenceRow, toSilence } from "./store";

/** Silences of the tenants that are in effect at `now` or start later (not yet ended). */
export async function activeSilences(db: Database, tenantIds: readonly string[], now: number): Promise<SilenceRecord[]> {
  if (tenantIds.length === 0) return [];
  const rows = await db.query<SilenceRow>(`SELECT ${SILENCE_COLUMNS} FROM silences WHERE tenant_id = ANY($1::uuid[]) AND ends_at > $2`, [
    tenantIds,
    new Date(now),
  ]);
  return rows.map(toSilence);
}
