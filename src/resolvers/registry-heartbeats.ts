import { type FieldNode, type GraphQLResolveInfo, Kind, getArgumentValues } from "graphql";
import type { InstanceRecord } from "../domain/registry";

/** The heartbeats a request started ahead of their fields, by field node; per request (context object). */
const started = new WeakMap<object, Map<FieldNode, Promise<InstanceRecord>>>();

/**
 * GraphQL runs a mutation's fields one after another, so 27 aliased heartbeats would be 27 round
 * trips in a row. When the first of a run of consecutive plain heartbeat fields (no `health`, no
 * `note`, no directives) executes, this starts the whole run at once — the domain coalesces them
 * into one statement — and each later field of the run takes its own result when its turn comes.
 *
 * The run stops at any other field, so no heartbeat moves across another mutation. Each field still
 * gets its own result or error (NOT_FOUND for an unknown instanceId on that field alone). A
 * heartbeat is idempotent: if an earlier field's error ends the request (the fields are non-null),
 * the later heartbeats of its run have been written nonetheless.
 */
export function heartbeatOf(
  context: object,
  info: GraphQLResolveInfo,
  instanceId: string,
  beat: (instanceId: string) => Promise<InstanceRecord>,
): Promise<InstanceRecord> {
  const node = info.fieldNodes[0];
  const mine = node && started.get(context)?.get(node);
  if (mine) {
    started.get(context)!.delete(node);
    return mine;
  }
  const ahead = node ? plainHeartbeatsAfter(info, node) : [];
  if (ahead.length > 0) {
    let map = started.get(context);
    if (!map) started.set(context, (map = new Map()));
    const own = beat(instanceId);
    for (const [later, id] of ahead) {
      const p = beat(id);
      // awaited when its field runs; the field may never run if an earlier one ends the request
      p.catch(() => undefined);
      map.set(later, p);
    }
    return own;
  }
  return beat(instanceId);
}

/** The plain heartbeat fields right after `node` at the operation's root, with their instanceIds. */
function plainHeartbeatsAfter(info: GraphQLResolveInfo, node: FieldNode): Array<[FieldNode, string]> {
  if (info.operation.operation !== "mutation" || info.path.prev !== undefined) return [];
  const selections = info.operation.selectionSet.selections;
  const at = selections.indexOf(node);
  if (at < 0) return [];
  const def = info.parentType.getFields()[node.name.value];
  if (!def) return [];
  const seen = new Set<string>([(node.alias ?? node.name).value]);
  const run: Array<[FieldNode, string]> = [];
  for (const sel of selections.slice(at + 1)) {
    if (sel.kind !== Kind.FIELD || sel.name.value !== node.name.value || (sel.directives?.length ?? 0) > 0) break;
    const responseName = (sel.alias ?? sel.name).value;
    // a repeated response name is merged into the earlier field by GraphQL: it never runs alone
    if (seen.has(responseName)) break;
    seen.add(responseName);
    let args: Record<string, unknown>;
    try {
      args = getArgumentValues(def, sel, info.variableValues);
    } catch {
      break;
    }
    if (args.health != null || args.note != null || typeof args.instanceId !== "string") break;
    run.push([sel, args.instanceId]);
  }
  return run;
}
