import { AUTO_VERSION, AutoDetector } from "./auto.detector";
import { EWMA_VERSION, EwmaDetector } from "./ewma.detector";
import { MAD_VERSION, MadDetector } from "./mad.detector";
import { SEASONAL_VERSION, SeasonalDetector } from "./seasonal.detector";
import { ZSCORE_VERSION, ZscoreDetector } from "./zscore.detector";
import { type Detector, type DetectorAlgorithm, type DetectorSnapshot } from "./types";

export type { Detector, DetectorAlgorithm, DetectorSnapshot, Scored, ScoreDirection } from "./types";
export { DEFAULT_THRESHOLD } from "./auto.detector";

interface Implementation {
  version: number;
  create(): Detector;
  restore(state: unknown): Detector;
}

/** One entry per algorithm; `version` is the snapshot layout each one writes and accepts. */
const IMPLEMENTATIONS: Record<DetectorAlgorithm, Implementation> = {
  AUTO: { version: AUTO_VERSION, create: () => AutoDetector.create(), restore: (s) => AutoDetector.restore(s) },
  ZSCORE: { version: ZSCORE_VERSION, create: () => ZscoreDetector.create(), restore: (s) => ZscoreDetector.restore(s) },
  MAD: { version: MAD_VERSION, create: () => MadDetector.create(), restore: (s) => MadDetector.restore(s) },
  EWMA: { version: EWMA_VERSION, create: () => EwmaDetector.create(), restore: (s) => EwmaDetector.restore(s) },
  SEASONAL: { version: SEASONAL_VERSION, create: () => SeasonalDetector.create(), restore: (s) => SeasonalDetector.restore(s) },
};

export const DETECTOR_ALGORITHMS = Object.keys(IMPLEMENTATIONS) as DetectorAlgorithm[];

/**
 * A detector for `algorithm`, resumed from `snapshot` when that snapshot was written by the same
 * algorithm at the current version; any other snapshot (another algorithm, an older layout,
 * garbage) is ignored and the detector starts fresh, warming up again. Never throws on a snapshot.
 */
export function createDetector(algorithm: DetectorAlgorithm, snapshot?: DetectorSnapshot): Detector {
  const impl = IMPLEMENTATIONS[algorithm];
  if (!impl) throw new Error(`unknown detector algorithm ${String(algorithm)}`);
  if (snapshot && snapshot.algorithm === algorithm && snapshot.version === impl.version && snapshot.state !== null && typeof snapshot.state === "object") {
    try {
      return impl.restore(snapshot.state);
    } catch {
      // a malformed snapshot is as good as none: re-warm
    }
  }
  return impl.create();
}
