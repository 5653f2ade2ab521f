export { type LeaderLock, type LeaderOptions, type LeaderTask, type LockSession, LeaderElection } from "./leader";
export { advisoryLock, soloLock } from "./advisory-lock";
