export { IngestService, type IngestResult } from "./ingest.service";
export { MAX_POINTS_PER_CALL, type PointInput } from "./points";
export { MetricsQueryService, MAX_BUCKETS, MAX_SERIES_PER_QUERY, type Summary, type Trend } from "./query.service";
export { Rollups } from "./rollups";
export { Retention } from "./retention";
export * from "./types";
