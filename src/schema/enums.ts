import { registerEnumType } from "type-graphql";
import { Scope } from "../domain/auth/scopes";
import { AggregateFn, MatchOp, MetricType, TrendDirection } from "../domain/metrics/types";
import { CircuitState, InstanceHealth, LoadBalancingStrategy, ServiceType } from "../domain/registry/types";

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
