import { Field, Float, ID, Int, ObjectType } from "type-graphql";
import type { Transition } from "../domain/rules/engine/types";
import type { AlertEventPayload } from "../domain/rules/events";
import type { AlertRecord, RuleRecord, SilenceRecord, TransitionRecord } from "../domain/rules/store";
import { Aggregation, AlertState, Combine, ConditionKind, MatchOp, NoDataPolicy, Operator, Severity } from "./enums";
import { LabelMatcher, SeriesSelector } from "./metric.type";
import { PageInfo } from "./page-info.type";
import { DateTimeScalar, JSONObjectScalar } from "./scalars";

function selectorOf(s: RuleRecord["conditions"][number]["selector"]): SeriesSelector {
  return Object.assign(new SeriesSelector(), {
    name: s.name,
    matchers: s.matchers.map((m) => Object.assign(new LabelMatcher(), { label: m.label, op: m.op as MatchOp, value: m.value })),
  });
}

@ObjectType()
export class Condition {
  @Field(() => ConditionKind)
  kind!: ConditionKind;

  @Field(() => SeriesSelector)
  selector!: SeriesSelector;

  @Field(() => Aggregation)
  aggregation!: Aggregation;

  @Field(() => Int)
  windowSeconds!: number;

  @Field(() => Operator)
  operator!: Operator;

  @Field(() => Float, { nullable: true })
  threshold!: number | null;

  @Field(() => Float, { nullable: true })
  recoveryThreshold!: number | null;
}

@ObjectType()
export class AlertRule {
  /** for field resolvers (channels, alerts): never in the schema */
  tenantId!: string;
  channelIds!: string[];

  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => Severity)
  severity!: Severity;

  @Field(() => String, { nullable: true })
  category!: string | null;

  @Field(() => [Condition])
  conditions!: Condition[];

  @Field(() => Combine)
  combine!: Combine;

  @Field(() => [String], { nullable: true })
  groupBy!: string[] | null;

  @Field(() => Int)
  forSeconds!: number;

  @Field(() => Int)
  keepFiringForSeconds!: number;

  @Field(() => Int)
  intervalSeconds!: number;

  @Field(() => NoDataPolicy)
  noData!: NoDataPolicy;

  @Field(() => JSONObjectScalar)
  labels!: Record<string, string>;

  @Field(() => JSONObjectScalar)
  annotations!: Record<string, string>;

  @Field(() => Boolean)
  enabled!: boolean;

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  @Field(() => DateTimeScalar)
  updatedAt!: Date;

  @Field(() => DateTimeScalar, { nullable: true, description: "the evaluation slot last evaluated" })
  lastEvaluatedAt!: Date | null;

  @Field(() => String, { nullable: true, description: "why the last evaluation failed; null when it succeeded" })
  lastEvaluationError!: string | null;

  @Field(() => DateTimeScalar, { nullable: true, description: "the next evaluation slot (null when disabled)" })
  nextEvaluationAt!: Date | null;

  static from(r: RuleRecord): AlertRule {
    return Object.assign(new AlertRule(), {
      tenantId: r.tenantId,
      channelIds: r.channelIds,
      id: r.id,
      name: r.name,
      description: r.description,
      severity: r.severity as Severity,
      category: r.category,
      conditions: r.conditions.map((c) =>
        Object.assign(new Condition(), {
          kind: c.kind as ConditionKind,
          selector: selectorOf(c.selector),
          aggregation: c.aggregation as Aggregation,
          windowSeconds: c.windowSeconds,
          operator: c.operator as Operator,
          threshold: c.threshold,
          recoveryThreshold: c.recoveryThreshold,
        }),
      ),
      combine: r.combine as Combine,
      groupBy: r.groupBy === null ? null : [...r.groupBy],
      forSeconds: r.forSeconds,
      keepFiringForSeconds: r.keepFiringForSeconds,
      intervalSeconds: r.intervalSeconds,
      noData: r.noData as NoDataPolicy,
      labels: r.labels,
      annotations: r.annotations,
      enabled: r.enabled,
      createdAt: new Date(r.createdAt),
      updatedAt: new Date(r.updatedAt),
      lastEvaluatedAt: r.lastEvaluatedAt === null ? null : new Date(r.lastEvaluatedAt),
      lastEvaluationError: r.lastEvaluationError,
      nextEvaluationAt: r.nextEvaluationAt === null ? null : new Date(r.nextEvaluationAt),
    });
  }
}

@ObjectType()
export class AlertRuleConnection {
  @Field(() => [AlertRule])
  nodes!: AlertRule[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}

@ObjectType()
export class AlertTransition {
  @Field(() => DateTimeScalar)
  at!: Date;

  @Field(() => AlertState, { nullable: true })
  from!: AlertState | null;

  @Field(() => AlertState)
  to!: AlertState;

  @Field(() => Float, { nullable: true })
  value!: number | null;

  static from(t: TransitionRecord): AlertTransition {
    return Object.assign(new AlertTransition(), { at: new Date(t.at), from: t.from, to: t.to, value: t.value });
  }
}

@ObjectType()
export class Alert {
  tenantId!: string;
  ruleId!: string;

  @Field(() => ID)
  id!: string;

  @Field(() => String, { description: "stable hash of tenant, rule and labels: the same for every alert of one identity" })
  fingerprint!: string;

  @Field(() => AlertState)
  state!: AlertState;

  @Field(() => Severity)
  severity!: Severity;

  @Field(() => JSONObjectScalar, { description: "the rule's labels, the group's labels, alertname and severity" })
  labels!: Record<string, string>;

  @Field(() => JSONObjectScalar, { description: "templates such as {{ $value }} and {{ $labels.host }} rendered at the last evaluation" })
  annotations!: Record<string, string>;

  @Field(() => Float, { nullable: true, description: "the value at the last evaluation (for RESOLVED: at resolution; null when there was no data)" })
  value!: number | null;

  @Field(() => DateTimeScalar)
  activeAt!: Date;

  @Field(() => DateTimeScalar, { nullable: true })
  firedAt!: Date | null;

  @Field(() => DateTimeScalar, { nullable: true })
  resolvedAt!: Date | null;

  @Field(() => DateTimeScalar)
  lastEvaluatedAt!: Date;

  @Field(() => DateTimeScalar, { nullable: true })
  acknowledgedAt!: Date | null;

  @Field(() => String, { nullable: true })
  acknowledgedBy!: string | null;

  @Field(() => String, { nullable: true })
  acknowledgeComment!: string | null;

  @Field(() => Boolean, { description: "a silence matches it: it moves through its states but is not notified" })
  silenced!: boolean;

  static from(a: AlertRecord): Alert {
    const at = (v: number | null) => (v === null ? null : new Date(v));
    return Object.assign(new Alert(), {
      tenantId: a.tenantId,
      ruleId: a.ruleId,
      id: a.id,
      fingerprint: a.fingerprint,
      state: a.state,
      severity: a.severity,
      labels: a.labels,
      annotations: a.annotations,
      value: a.value,
      activeAt: new Date(a.activeAt),
      firedAt: at(a.firedAt),
      resolvedAt: at(a.resolvedAt),
      lastEvaluatedAt: new Date(a.lastEvaluatedAt),
      acknowledgedAt: at(a.acknowledgedAt),
      acknowledgedBy: a.acknowledgedBy,
      acknowledgeComment: a.acknowledgeComment,
      silenced: a.silenced,
    });
  }
}

@ObjectType()
export class AlertConnection {
  @Field(() => [Alert])
  nodes!: Alert[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}

@ObjectType()
export class AlertEvent {
  @Field(() => Alert)
  alert!: Alert;

  @Field(() => AlertState, { nullable: true })
  previousState!: AlertState | null;

  @Field(() => AlertState)
  state!: AlertState;

  @Field(() => DateTimeScalar, { description: "the evaluation slot that made the transition" })
  at!: Date;

  static from(e: AlertEventPayload): AlertEvent {
    return Object.assign(new AlertEvent(), { alert: Alert.from(e.alert), previousState: e.previousState, state: e.state, at: new Date(e.at) });
  }
}

@ObjectType()
export class BacktestTransition {
  @Field(() => DateTimeScalar)
  at!: Date;

  @Field(() => JSONObjectScalar)
  labels!: Record<string, string>;

  @Field(() => AlertState, { nullable: true })
  from!: AlertState | null;

  @Field(() => AlertState)
  to!: AlertState;

  @Field(() => Float, { nullable: true })
  value!: number | null;

  static from(t: Transition): BacktestTransition {
    return Object.assign(new BacktestTransition(), { at: new Date(t.at), labels: t.labels, from: t.from, to: t.to, value: t.value });
  }
}

@ObjectType()
export class BacktestResult {
  @Field(() => Int)
  evaluations!: number;

  @Field(() => [BacktestTransition])
  transitions!: BacktestTransition[];
}

@ObjectType()
export class Silence {
  @Field(() => ID)
  id!: string;

  @Field(() => [LabelMatcher])
  matchers!: LabelMatcher[];

  @Field(() => DateTimeScalar)
  startsAt!: Date;

  @Field(() => DateTimeScalar)
  endsAt!: Date;

  @Field(() => String, { nullable: true })
  comment!: string | null;

  @Field(() => String)
  createdBy!: string;

  @Field(() => Boolean, { description: "in effect now: started and not yet ended" })
  active!: boolean;

  static from(s: SilenceRecord, now = Date.now()): Silence {
    return Object.assign(new Silence(), {
      id: s.id,
      matchers: s.matchers.map((m) => Object.assign(new LabelMatcher(), { label: m.label, op: m.op as MatchOp, value: m.value })),
      startsAt: new Date(s.startsAt),
      endsAt: new Date(s.endsAt),
      comment: s.comment,
      createdBy: s.createdBy,
      active: s.startsAt <= now && now < s.endsAt,
    });
  }
}
