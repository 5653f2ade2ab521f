/** `vigil_leader` from a server's /metrics: 1 in the leader, 0 elsewhere; throws when it does not answer. */
export async function leaderGauge(baseUrl: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const m = /^vigil_leader (\d+)$/m.exec(text);
  if (!m) throw new Error(`no vigil_leader in /metrics:\n${text.slice(0, 500)}`);
  return Number(m[1]);
}
