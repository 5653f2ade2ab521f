import "reflect-metadata";
import { type GraphQLSchema, lexicographicSortSchema, printSchema } from "graphql";
import { type PubSub, buildSchemaSync } from "type-graphql";
import { type VigilPubSub, createInProcessPubSub } from "../domain/pubsub";
import { AlertResolver, DeliveryAlertResolver } from "../resolvers/alert.resolver";
import { AnomalyResolver } from "../resolvers/anomaly.resolver";
import { ApiKeyResolver } from "../resolvers/api-key.resolver";
import { AuditResolver } from "../resolvers/audit.resolver";
import { MetricsResolver } from "../resolvers/metrics.resolver";
import { NotificationResolver } from "../resolvers/notification.resolver";
import { OverviewResolver, TenantUsageResolver } from "../resolvers/overview.resolver";
import { RegistryEventsResolver } from "../resolvers/registry-events.resolver";
import { RegistryResolver } from "../resolvers/registry.resolver";
import { RuleResolver } from "../resolvers/rule.resolver";
import { ServiceInstanceResolver } from "../resolvers/service-instance.resolver";
import { ServiceResolver } from "../resolvers/service.resolver";
import { TenantResolver } from "../resolvers/tenant.resolver";
import { validateArgument } from "./validate";

export const resolverClasses = [
  TenantResolver,
  ApiKeyResolver,
  AuditResolver,
  MetricsResolver,
  RegistryResolver,
  ServiceResolver,
  ServiceInstanceResolver,
  RegistryEventsResolver,
  RuleResolver,
  AlertResolver,
  DeliveryAlertResolver,
  AnomalyResolver,
  NotificationResolver,
  OverviewResolver,
  TenantUsageResolver,
] as const;

/** Any resolver class, whatever its constructor takes. */
export type ResolverClass = abstract new (...args: never[]) => object;
export type ResolverInstances = Map<ResolverClass, object>;

/**
 * Resolvers are built in the composition root with their services and handed over here; there is
 * no per-request container. `instances` may be empty when only the SDL is wanted.
 */
export function buildVigilSchema(
  instances: ResolverInstances = new Map(),
  pubSub: VigilPubSub = createInProcessPubSub(),
): GraphQLSchema {
  return buildSchemaSync({
    // Subscriptions use `subscribe` functions that authorise first; type-graphql still wants the pubSub.
    pubSub: pubSub as unknown as PubSub,
    resolvers: [...resolverClasses],
    container: {
      get(cls) {
        const instance = instances.get(cls as ResolverClass);
        if (!instance) throw new Error(`no instance wired for resolver ${cls.name}`);
        return instance;
      },
    },
    validateFn: validateArgument,
    emitSchemaFile: false,
  });
}

/** The committed schema.graphql: sorted so that diffs show only real changes. */
export function printSortedSchema(schema: GraphQLSchema): string {
  return printSchema(lexicographicSortSchema(schema)) + "\n";
}
