import type { AlertRecord } from "./store";
import type { AlertState } from "./engine/types";

/** One alert state transition as published to `alertEvents` subscribers: plain JSON. */
export interface AlertEventPayload {
  /** the alert after the transition */
  alert: AlertRecord;
  previousState: AlertState | null;
  state: AlertState;
  /** epoch ms of the evaluation that made it */
  at: number;
}
