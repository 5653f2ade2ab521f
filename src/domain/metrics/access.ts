/** Kept so the metrics modules keep their import path; the rule lives with the other auth rules. */
export { tenantOf } from "../auth/tenant-of";
