import { registerEnumType } from "type-graphql";
import { AnomalyAlgorithm, Direction } from "../domain/anomalies/types";
import { Scope } from "../domain/auth/scopes";
import { AggregateFn, MatchOp, MetricType, TrendDirection } from "../domain/metrics/types";
import { Aggregation, AlertState, Combine, ConditionKind, NoDataPolicy, Operator, Severity } from "../domain/rules/types";
import { CircuitState, InstanceHealth, LoadBalancingStrategy, ServiceType } from "../domain/registry/types";
import { ChannelKind, DeliveryReason, DeliveryStatus } from "../domain/notify/types";

export { Scope };

registerEnumType(Scope, { name: "Scope" });

registerEnumType(MetricType, { name: "MetricType" });
registerEnumType(MatchOp, { name: "MatchOp" });
registerEnumType(AggregateFn, {
  name: "AggregateFn",
  valuesConfig: {
    RATE: { description: "counter increase per second of the bucket; resets handled as Prometheus does" },
    INCREASE: { description: "counter increase within the bucket, from the sample before it; resets handled as Prometheus does" },
    STDDEV: { description: "population standard deviation" },
    LAST: { description: "the most recent sample of the bucket (of the group)" },
  },
});
registerEnumType(TrendDirection, { name: "TrendDirection" });

export { AggregateFn, MatchOp, MetricType, TrendDirection };

registerEnumType(ServiceType, { name: "ServiceType" });
registerEnumType(LoadBalancingStrategy, {
  name: "LoadBalancingStrategy",
  valuesConfig: {
    ROUND_ROBIN: { description: "smooth weighted round robin (nginx); positions are per Vigil process" },
    LEAST_CONNECTIONS: { description: "fewest active requests (picked, not yet reported); ties at random" },
    WEIGHTED: { description: "random, in proportion to weight" },
    RANDOM: { description: "uniformly random" },
    CONSISTENT_HASH: { description: "a hash ring over hashKey: the same key reaches the same instance; without a key, WEIGHTED" },
    POWER_OF_TWO: { description: "the less busy of two random instances (Envoy's least-request default)" },
  },
});
registerEnumType(InstanceHealth, { name: "InstanceHealth" });
registerEnumType(CircuitState, { name: "CircuitState" });

export { CircuitState, InstanceHealth, LoadBalancingStrategy, ServiceType };

registerEnumType(Severity, { name: "Severity", description: "INFO < WARNING < ERROR < CRITICAL" });
registerEnumType(Aggregation, {
  name: "Aggregation",
  valuesConfig: {
    RATE: { description: "reset-aware counter increase over the window per second, as the metrics aggregate query computes it (no extrapolation)" },
    INCREASE: { description: "reset-aware counter increase over the window, including the step from the sample before it" },
    LAST: { description: "the most recent sample in the window (of the group)" },
  },
});
registerEnumType(Operator, { name: "Operator" });
registerEnumType(ConditionKind, {
  name: "ConditionKind",
  valuesConfig: {
    THRESHOLD: { description: "the aggregation over the window compared with the threshold" },
    ABSENT: { description: "true when the selector has no samples in the window" },
    ANOMALY: { description: "the maximum anomaly score in the window (from anomaly monitors) compared with the threshold" },
  },
});
registerEnumType(Combine, { name: "Combine" });
registerEnumType(NoDataPolicy, {
  name: "NoDataPolicy",
  valuesConfig: {
    OK: { description: "no data resolves the rule's alerts" },
    ALERTING: { description: "no data raises one alert for the rule (label vigil_nodata=\"true\")" },
    KEEP_LAST_STATE: { description: "no data keeps every alert as it is" },
  },
});
registerEnumType(AlertState, { name: "AlertState" });

export { Aggregation, AlertState, Combine, ConditionKind, NoDataPolicy, Operator, Severity };

registerEnumType(ChannelKind, {
  name: "ChannelKind",
  valuesConfig: {
    WEBHOOK: { description: "POST of Alertmanager's webhook body (version \"4\"), signed with X-Vigil-Signature when a secret is set" },
    SLACK: { description: "POST of a Slack incoming-webhook message" },
    ALERTMANAGER: { description: "POST <url>/api/v2/alerts to an Alertmanager (v2 API)" },
  },
});
registerEnumType(DeliveryStatus, {
  name: "DeliveryStatus",
  valuesConfig: {
    PENDING: { description: "not yet sent, or to be retried at nextAttemptAt" },
    DELIVERED: { description: "the receiver answered 2xx" },
    FAILED: { description: "a permanent failure (4xx other than 408/429, a redirect), or every attempt used up" },
  },
});
registerEnumType(DeliveryReason, {
  name: "DeliveryReason",
  valuesConfig: {
    FIRING: { description: "the alert started firing" },
    RESOLVED: { description: "the alert resolved (channels with sendResolved)" },
    REPEAT: { description: "the alert is still firing after the channel's repeatIntervalSeconds" },
    TEST: { description: "testChannel's sample alert" },
  },
});

export { ChannelKind, DeliveryReason, DeliveryStatus };

registerEnumType(AnomalyAlgorithm, {
  name: "AnomalyAlgorithm",
  valuesConfig: {
    AUTO: { description: "the default: the best of a recent-level and a daily/weekly-profile prediction, scored by anomaly likelihood (tuned on the Numenta Anomaly Benchmark)" },
    ZSCORE: { description: "distance from the mean of a sliding window, in standard deviations" },
    MAD: { description: "distance from the median of a sliding window, in robust standard deviations (median absolute deviation)" },
    EWMA: { description: "distance from an exponentially weighted mean, in exponentially weighted standard deviations" },
    SEASONAL: { description: "distance from the series' own daily or weekly profile" },
  },
});
registerEnumType(Direction, {
  name: "Direction",
  valuesConfig: {
    UP: { description: "above the expected value" },
    DOWN: { description: "below the expected value" },
    BOTH: { description: "either side (monitors only)" },
  },
});

export { AnomalyAlgorithm, Direction };
