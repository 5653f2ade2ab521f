/** PostgreSQL's unique_violation, as reported by pg and by PGlite alike. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown; driverError?: { code?: unknown } } | null;
  return e?.code === "23505" || e?.driverError?.code === "23505";
}
