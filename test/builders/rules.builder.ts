import type { TestServer } from "../support/server";
import { type GqlResponse, gql, gqlOk } from "../support/gql";

export const RULE_FIELDS = `id name description severity category combine groupBy forSeconds keepFiringForSeconds intervalSeconds noData labels annotations
  enabled createdAt updatedAt lastEvaluatedAt lastEvaluationError nextEvaluationAt
  conditions { kind selector { name matchers { label op value } } aggregation windowSeconds operator threshold recoveryThreshold }`;

export const ALERT_FIELDS = `id fingerprint state severity labels annotations value activeAt firedAt resolvedAt lastEvaluatedAt acknowledgedAt acknowledgedBy
  acknowledgeComment silenced rule { id name } history { at from to value }`;

export const CREATE_RULE = `mutation($input: AlertRuleInput!) { createRule(input: $input) { ${RULE_FIELDS} } }`;
export const UPDATE_RULE = `mutation($id: ID!, $input: AlertRuleInput!) { updateRule(id: $id, input: $input) { ${RULE_FIELDS} } }`;
export const DELETE_RULE = `mutation($id: ID!) { deleteRule(id: $id) }`;
export const SET_ENABLED = `mutation($id: ID!, $enabled: Boolean!) { setRuleEnabled(id: $id, enabled: $enabled) { id enabled nextEvaluationAt } }`;
export const RULE = `query($id: ID!) { rule(id: $id) { ${RULE_FIELDS} alerts { id state } } }`;
export const RULES = `query($first: Int, $after: String, $enabled: Boolean) { rules(first: $first, after: $after, enabled: $enabled) {
  totalCount pageInfo { hasNextPage endCursor } nodes { id name enabled } } }`;
export const ALERTS = `query($filter: AlertFilter, $first: Int, $after: String) { alerts(filter: $filter, first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } nodes { ${ALERT_FIELDS} } } }`;
export const ALERT = `query($id: ID!) { alert(id: $id) { ${ALERT_FIELDS} } }`;
export const ACK = `mutation($id: ID!, $comment: String) { acknowledgeAlert(id: $id, comment: $comment) { ${ALERT_FIELDS} } }`;
export const BACKTEST = `mutation($input: AlertRuleInput!, $from: DateTime!, $to: DateTime!) { backtestRule(input: $input, from: $from, to: $to) {
  evaluations transitions { at labels from to value } } }`;
export const SILENCES = `query($active: Boolean) { silences(active: $active) { id matchers { label op value } startsAt endsAt comment createdBy active } }`;
export const CREATE_SILENCE = `mutation($input: SilenceInput!) { createSilence(input: $input) { id matchers { label op value } startsAt endsAt comment createdBy active } }`;
export const EXPIRE_SILENCE = `mutation($id: ID!) { expireSilence(id: $id) { id endsAt active } }`;
export const ALERT_EVENTS = `subscription($filter: AlertFilter) { alertEvents(filter: $filter) { previousState state at alert { id state value labels annotations silenced rule { name } } } }`;

/** A one-condition rule over `metric`, firing when its AVG over 60 s is above 90. */
export function ruleInput(overrides: Record<string, unknown> = {}, condition: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: "HighCpu",
    severity: "CRITICAL",
    conditions: [{ selector: { name: "cpu" }, aggregation: "AVG", windowSeconds: 60, operator: "GT", threshold: 90, ...condition }],
    intervalSeconds: 10,
    annotations: { summary: "cpu at {{ $value }} on {{ $labels.host }}" },
    ...overrides,
  };
}

export function createRule(s: TestServer, key: string, input: Record<string, unknown>): Promise<GqlResponse> {
  return gql(s.url, key, CREATE_RULE, { input });
}

export async function createRuleOk(s: TestServer, key: string, input: Record<string, unknown>) {
  return (await gqlOk(s.url, key, CREATE_RULE, { input })).createRule;
}

export async function alertsOk(s: TestServer, key: string, filter: Record<string, unknown> = {}) {
  return (await gqlOk(s.url, key, ALERTS, { filter })).alerts;
}
