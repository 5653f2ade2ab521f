import { Foundation1763800000000 } from "./1763800000000-foundation";
import { Metrics1763900000000 } from "./1763900000000-metrics";
import { Registry1764000000000 } from "./1764000000000-registry";

/** Every migration, in order. Listed explicitly so the same list works from src and from dist. */
export const migrations = [Foundation1763800000000, Metrics1763900000000, Registry1764000000000];
