import { Foundation1763800000000 } from "./1763800000000-foundation";
import { Metrics1763900000000 } from "./1763900000000-metrics";
import { Registry1764000000000 } from "./1764000000000-registry";
import { Rules1764100000000 } from "./1764100000000-rules";
import { Notifications1764200000000 } from "./1764200000000-notifications";
import { Anomalies1764300000000 } from "./1764300000000-anomalies";
import { PickSnapshots1764400000000 } from "./1764400000000-pick-snapshots";
import { RollupCoveringKeys1764500000000 } from "./1764500000000-rollup-covering-keys";
import { BatchRollupMarkers1764600000000 } from "./1764600000000-batch-rollup-markers";

/** Every migration, in order. Listed explicitly so the same list works from src and from dist. */
export const migrations = [Foundation1763800000000, Metrics1763900000000, Registry1764000000000, Rules1764100000000, Notifications1764200000000, Anomalies1764300000000, PickSnapshots1764400000000, RollupCoveringKeys1764500000000, BatchRollupMarkers1764600000000];
