/**
 * One active health check: GET the URL with a timeout, redirects not followed.
 * 2xx → pass, 429 → warn (the instance is up but shedding load), anything else, a timeout or a
 * network error → fail, with the status or the error as detail. Never throws.
 */
export interface ProbeResult {
  outcome: "pass" | "warn" | "fail";
  detail: string;
}

/** `cancel` aborts the check (shutdown); its result is then meaningless and not applied. */
export type Probe = (url: string, timeoutSeconds: number, cancel?: AbortSignal) => Promise<ProbeResult>;

export const httpProbe: Probe = async (url, timeoutSeconds, cancel) => {
  const timeout = AbortSignal.timeout(timeoutSeconds * 1000);
  try {
    const res = await fetch(url, {
      method: "GET",
      redirect: "manual",
      signal: cancel ? AbortSignal.any([timeout, cancel]) : timeout,
      headers: { "user-agent": "vigil-health-check/1" },
    });
    // the body is not read: release the connection
    await res.body?.cancel().catch(() => undefined);
    const status = `HTTP ${res.status}`;
    if (res.status >= 200 && res.status < 300) return { outcome: "pass", detail: status };
    if (res.status === 429) return { outcome: "warn", detail: status };
    if (res.status >= 300 && res.status < 400) return { outcome: "fail", detail: `${status} (redirects are not followed)` };
    return { outcome: "fail", detail: status };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (timeout.aborted) return { outcome: "fail", detail: `timed out after ${timeoutSeconds} s` };
    if (cancel?.aborted) return { outcome: "fail", detail: "cancelled" };
    const cause = e.cause?.code ?? e.cause?.message ?? e.message;
    return { outcome: "fail", detail: `request failed: ${cause}` };
  }
};
