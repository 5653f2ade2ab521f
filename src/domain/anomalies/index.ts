export { AnomalyEngine, type AnomalyEngineConfig, type DetectorFactory } from "./engine";
export { AnomalyMonitorService, type AnomalyPage, type AnomalyQuery } from "./monitor.service";
export { AnomalyScores, MAX_SCORED_SAMPLES } from "./scores.service";
export { pruneAnomalies } from "./retention";
export { MAX_MONITORS_PER_TENANT } from "./validation";
export * from "./types";
