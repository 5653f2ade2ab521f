import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { Context } from "../context";
import type { ChannelService } from "../domain/notify";
import type { AlertService, RuleService } from "../domain/rules";
import { AlertState } from "../schema/enums";
import { AlertRuleInput } from "../schema/rule.input";
import { Alert, AlertRule, AlertRuleConnection, BacktestResult, BacktestTransition } from "../schema/rule.type";
import { NotificationChannel } from "../schema/notification.type";
import { DateTimeScalar } from "../schema/scalars";

/** Alert rules: CRUD, enabling and backtests. Inputs are validated in the domain, which names the field. */
@Resolver(() => AlertRule)
export class RuleResolver {
  constructor(
    private readonly ruleService: RuleService,
    private readonly alertService: AlertService,
    private readonly channelService: ChannelService,
  ) {}

  @Query(() => AlertRuleConnection, { description: "the tenant's rules in creation order. RULES_READ scope" })
  async rules(
    @Arg("first", () => Int, { nullable: true }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
    @Arg("enabled", () => Boolean, { nullable: true }) enabled: boolean | null,
    @Ctx() { session }: Context,
  ): Promise<AlertRuleConnection> {
    const page = await this.ruleService.list(session, first ?? null, after ?? null, enabled ?? null);
    return { nodes: page.nodes.map(AlertRule.from), totalCount: page.totalCount, pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor } };
  }

  @Query(() => AlertRule, { nullable: true, description: "RULES_READ scope" })
  async rule(@Arg("id", () => ID) id: string, @Ctx() { session }: Context): Promise<AlertRule | null> {
    const found = await this.ruleService.get(session, id);
    return found && AlertRule.from(found);
  }

  @Mutation(() => AlertRule, { description: "RULES_WRITE scope" })
  async createRule(@Arg("input", () => AlertRuleInput, { validate: false }) input: AlertRuleInput, @Ctx() { session, requestId }: Context): Promise<AlertRule> {
    return AlertRule.from(await this.ruleService.create(session, input, requestId));
  }

  @Mutation(() => AlertRule, { description: "replaces the whole rule; its alerts carry on (disabling retires them). RULES_WRITE scope" })
  async updateRule(
    @Arg("id", () => ID) id: string,
    @Arg("input", () => AlertRuleInput, { validate: false }) input: AlertRuleInput,
    @Ctx() { session, requestId }: Context,
  ): Promise<AlertRule> {
    return AlertRule.from(await this.ruleService.update(session, id, input, requestId));
  }

  @Mutation(() => Boolean, { description: "deletes the rule, its alerts and their history. RULES_DELETE scope" })
  async deleteRule(@Arg("id", () => ID) id: string, @Ctx() { session, requestId }: Context): Promise<boolean> {
    return this.ruleService.delete(session, id, requestId);
  }

  @Mutation(() => AlertRule, {
    description: "disabling stops evaluation and retires the rule's alerts (PENDING dropped, FIRING resolved and notified). RULES_WRITE scope",
  })
  async setRuleEnabled(@Arg("id", () => ID) id: string, @Arg("enabled", () => Boolean) enabled: boolean, @Ctx() { session, requestId }: Context): Promise<AlertRule> {
    return AlertRule.from(await this.ruleService.setEnabled(session, id, enabled, requestId));
  }

  @Mutation(() => BacktestResult, { description: "replays the rule over stored samples at every interval in [from, to] without side effects. RULES_READ scope" })
  async backtestRule(
    @Arg("input", () => AlertRuleInput, { validate: false }) input: AlertRuleInput,
    @Arg("from", () => DateTimeScalar) from: Date,
    @Arg("to", () => DateTimeScalar) to: Date,
    @Ctx() { session }: Context,
  ): Promise<BacktestResult> {
    const r = await this.ruleService.backtest(session, input, from, to);
    return { evaluations: r.evaluations, transitions: r.transitions.map(BacktestTransition.from) };
  }

  @FieldResolver(() => [Alert], { description: "newest first, at most 500" })
  async alerts(
    @Root() rule: AlertRule,
    @Arg("states", () => [AlertState], { nullable: true }) states: AlertState[] | null,
    @Ctx() { session }: Context,
  ): Promise<Alert[]> {
    return (await this.alertService.ofRule(session, rule.tenantId, rule.id, states ?? null)).map(Alert.from);
  }

  @FieldResolver(() => [NotificationChannel], { description: "the channels its notifications go to, in the order given. RULES_READ scope" })
  async channels(@Root() rule: AlertRule, @Ctx() { session }: Context): Promise<NotificationChannel[]> {
    if (rule.channelIds.length === 0) return [];
    const byId = new Map((await this.channelService.list(session)).map((c) => [c.id, c]));
    return rule.channelIds.flatMap((id) => {
      const c = byId.get(id);
      return c ? [NotificationChannel.from(c)] : [];
    });
  }
}
