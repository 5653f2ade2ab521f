import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription } from "type-graphql";
import type { Context } from "../context";
import type { AlertService, RuleService } from "../domain/rules";
import type { AlertEventPayload } from "../domain/rules/events";
import { AlertFilter, SilenceInput } from "../schema/rule.input";
import { Delivery } from "../schema/notification.type";
import { Alert, AlertConnection, AlertEvent, AlertRule, AlertTransition, Silence } from "../schema/rule.type";

/** Alerts, acknowledgements, silences and the alertEvents stream. */
@Resolver(() => Alert)
export class AlertResolver {
  constructor(
    private readonly alertService: AlertService,
    private readonly ruleService: RuleService,
  ) {}

  @Query(() => AlertConnection, { description: "the tenant's alerts, newest first, RESOLVED ones included (history). ALERTS_READ scope" })
  async alerts(
    @Arg("filter", () => AlertFilter, { nullable: true, validate: false }) filter: AlertFilter | null,
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Ctx() { session }: Context,
  ): Promise<AlertConnection> {
    const page = await this.alertService.list(session, filter ?? null, first ?? null, after ?? null);
    return { nodes: page.nodes.map(Alert.from), totalCount: page.totalCount, pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor } };
  }

  @Query(() => Alert, { nullable: true, description: "ALERTS_READ scope" })
  async alert(@Arg("id", () => ID) id: string, @Ctx() { session }: Context): Promise<Alert | null> {
    const found = await this.alertService.get(session, id);
    return found && Alert.from(found);
  }

  @Mutation(() => Alert, { description: "records who acknowledged and when; the state does not change. ALERTS_WRITE scope" })
  async acknowledgeAlert(
    @Arg("id", () => ID) id: string,
    @Arg("comment", () => String, { nullable: true }) comment: string | null,
    @Ctx() { session, requestId }: Context,
  ): Promise<Alert> {
    return Alert.from(await this.alertService.acknowledge(session, id, comment ?? null, requestId));
  }

  @Query(() => [Silence], { description: "newest first; `active`: only those in effect now (true) or only the others (false). ALERTS_READ scope" })
  async silences(@Arg("active", () => Boolean, { nullable: true }) active: boolean | null, @Ctx() { session }: Context): Promise<Silence[]> {
    const now = Date.now();
    return (await this.alertService.silences(session, active ?? null, now)).map((s) => Silence.from(s, now));
  }

  @Mutation(() => Silence, { description: "silenced alerts keep moving through their states but are not notified. ALERTS_WRITE scope" })
  async createSilence(@Arg("input", () => SilenceInput, { validate: false }) input: SilenceInput, @Ctx() { session, requestId }: Context): Promise<Silence> {
    return Silence.from(await this.alertService.createSilence(session, input, requestId));
  }

  @Mutation(() => Silence, { description: "ends the silence now; it stays listed. ALERTS_WRITE scope" })
  async expireSilence(@Arg("id", () => ID) id: string, @Ctx() { session, requestId }: Context): Promise<Silence> {
    return Silence.from(await this.alertService.expireSilence(session, id, requestId));
  }

  @FieldResolver(() => AlertRule)
  async rule(@Root() alert: Alert): Promise<AlertRule> {
    const rule = await this.ruleService.getFor(alert.tenantId, alert.ruleId);
    if (!rule) throw new Error(`alert ${alert.id} has no rule ${alert.ruleId}`);
    return AlertRule.from(rule);
  }

  @FieldResolver(() => [AlertTransition], { description: "every state change, oldest first" })
  async history(@Root() alert: Alert): Promise<AlertTransition[]> {
    return (await this.alertService.history(alert.tenantId, alert.id)).map(AlertTransition.from);
  }

  @Subscription(() => AlertEvent, {
    description: "every state transition of the tenant's alerts that passes the filter, published when the evaluation that made it commits. ALERTS_READ scope",
    subscribe: ({ args, context }) => (context as Context).streams.alertEvents((context as Context).session, (args as { filter?: AlertFilter | null }).filter),
  })
  alertEvents(@Root() event: AlertEventPayload, @Arg("filter", () => AlertFilter, { nullable: true, validate: false }) _filter: AlertFilter | null): AlertEvent {
    return AlertEvent.from(event);
  }
}

/** Delivery.alert: the alert a delivery notified about (null for test deliveries and deleted alerts). ALERTS_READ scope */
@Resolver(() => Delivery)
export class DeliveryAlertResolver {
  constructor(private readonly alertService: AlertService) {}

  @FieldResolver(() => Alert, { nullable: true, description: "null for testChannel deliveries and for alerts deleted with their rule. ALERTS_READ scope" })
  async alert(@Root() delivery: Delivery, @Ctx() { session }: Context): Promise<Alert | null> {
    if (delivery.alertId === null) return null;
    const found = await this.alertService.get(session, delivery.alertId);
    return found && Alert.from(found);
  }
}
