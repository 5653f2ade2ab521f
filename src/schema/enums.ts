import { registerEnumType } from "type-graphql";
import { Scope } from "../domain/auth/scopes";
import { AggregateFn, MatchOp, MetricType, TrendDirection } from "../domain/metrics/types";

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
