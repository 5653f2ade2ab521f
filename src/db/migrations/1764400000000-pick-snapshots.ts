import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * services.instances_version: a counter that changes whenever anything pickInstance's choice
 * depends on changes for the service — an instance added or removed, an instance's health, weight
 * or circuit state (breaker->>'state', breaker->>'openedAt'), or the service's policy. Processes
 * keep the service's candidates in memory and check the counter in the statement that starts the
 * request (src/domain/registry/pick-snapshots.ts), instead of reading every instance on every pick.
 *
 * The instance triggers are deferred constraint triggers: the counter is bumped at commit, after
 * every row lock the transaction takes, so a transaction never holds the service row while it waits
 * for an instance row (no lock-order cycle with reportCall or the sweep), and the bump becomes
 * visible atomically with the change it reports. Changes that do not matter to a pick (heartbeat
 * times, active requests, the breaker's window of outcomes) do not bump it.
 */
export class PickSnapshots1764400000000 implements MigrationInterface {
  name = "PickSnapshots1764400000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE services ADD COLUMN instances_version bigint NOT NULL DEFAULT 0`);
    await q.query(`
      CREATE FUNCTION vigil_bump_instances_version() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP <> 'INSERT' THEN
          UPDATE services SET instances_version = instances_version + 1 WHERE tenant_id = OLD.tenant_id AND id = OLD.service_id;
        END IF;
        IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.service_id IS DISTINCT FROM OLD.service_id) THEN
          UPDATE services SET instances_version = instances_version + 1 WHERE tenant_id = NEW.tenant_id AND id = NEW.service_id;
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE CONSTRAINT TRIGGER service_instances_version_ins_del AFTER INSERT OR DELETE ON service_instances
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION vigil_bump_instances_version()`);
    await q.query(`
      CREATE CONSTRAINT TRIGGER service_instances_version_upd AFTER UPDATE ON service_instances
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
        WHEN (OLD.health IS DISTINCT FROM NEW.health OR OLD.weight IS DISTINCT FROM NEW.weight
          OR OLD.service_id IS DISTINCT FROM NEW.service_id
          OR (OLD.breaker->>'state') IS DISTINCT FROM (NEW.breaker->>'state')
          OR (OLD.breaker->>'openedAt') IS DISTINCT FROM (NEW.breaker->>'openedAt'))
        EXECUTE FUNCTION vigil_bump_instances_version()`);
    await q.query(`
      CREATE FUNCTION vigil_bump_policy_version() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        NEW.instances_version := OLD.instances_version + 1;
        RETURN NEW;
      END $$`);
    await q.query(`
      CREATE TRIGGER services_policy_version BEFORE UPDATE ON services
        FOR EACH ROW WHEN (OLD.policy IS DISTINCT FROM NEW.policy) EXECUTE FUNCTION vigil_bump_policy_version()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER services_policy_version ON services`);
    await q.query(`DROP TRIGGER service_instances_version_upd ON service_instances`);
    await q.query(`DROP TRIGGER service_instances_version_ins_del ON service_instances`);
    await q.query(`DROP FUNCTION vigil_bump_policy_version()`);
    await q.query(`DROP FUNCTION vigil_bump_instances_version()`);
    await q.query(`ALTER TABLE services DROP COLUMN instances_version`);
  }
}
