import type { OutgoingRequest } from "./transports";

/** What one attempt came to. `error` is a short excerpt, at most ERROR_MAX characters. */
export type SendOutcome =
  | { kind: "delivered"; status: number }
  | { kind: "retry"; status: number | null; error: string; retryAfter: string | null }
  | { kind: "fail"; status: number | null; error: string }
  /** shutdown aborted the attempt; the delivery is due again at once, for the next process */
  | { kind: "cancelled" };

export interface SendOptions {
  idempotencyKey: string;
  /** connect, request and response headers and the excerpt of the body, together */
  timeoutMs: number;
  cancel?: AbortSignal;
  /** strings that must never be stored (the channel's secret): replaced in error excerpts */
  redact?: readonly string[];
}

export type Sender = (request: OutgoingRequest, options: SendOptions) => Promise<SendOutcome>;

export const ERROR_MAX = 200;
/** bytes of a response body read for the error excerpt; the rest is discarded unread */
const EXCERPT_BYTES = 1024;

/** Status codes worth retrying: the receiver is overloaded, down or timed out, and may recover. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

export function excerpt(text: string, redact: readonly string[] = []): string {
  let out = text;
  for (const secret of redact) if (secret) out = out.split(secret).join("[redacted]");
  out = out.replace(/\s+/g, " ").trim();
  return out.length > ERROR_MAX ? `${out.slice(0, ERROR_MAX - 1)}…` : out;
}

async function readExcerpt(res: Response): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < EXCERPT_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString("utf8");
}

/**
 * POSTs with Node's fetch: redirects are not followed (a 3xx is a permanent failure: the channel's
 * URL must name the receiver), the whole exchange is bounded by `timeoutMs`, and the response body
 * is read only as an excerpt of a failure. Never throws.
 */
export const httpSender: Sender = async (request, options) => {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.cancel ? AbortSignal.any([timeout, options.cancel]) : timeout;
  const redact = options.redact ?? [];
  try {
    const res = await fetch(request.url, {
      method: "POST",
      redirect: "manual",
      signal,
      headers: { ...request.headers, "idempotency-key": options.idempotencyKey },
      body: request.body,
    });
    if (res.status >= 200 && res.status < 300) {
      await res.body?.cancel().catch(() => undefined);
      return { kind: "delivered", status: res.status };
    }
    const text = await readExcerpt(res).catch(() => "");
    const error = excerpt(`HTTP ${res.status}${text ? `: ${text}` : ""}`, redact);
    if (isRetryableStatus(res.status)) return { kind: "retry", status: res.status, error, retryAfter: res.headers.get("retry-after") };
    if (res.status >= 300 && res.status < 400) return { kind: "fail", status: res.status, error: excerpt(`HTTP ${res.status}: redirects are not followed`) };
    return { kind: "fail", status: res.status, error };
  } catch (err) {
    if (options.cancel?.aborted && !timeout.aborted) return { kind: "cancelled" };
    if (timeout.aborted) return { kind: "retry", status: null, error: `timed out after ${options.timeoutMs} ms`, retryAfter: null };
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const cause = e.cause?.code ?? e.cause?.message ?? e.message;
    // fetch refuses the Fetch standard's "bad ports" (25, 6000, …) every time: retrying cannot help
    if (cause === "bad port") return { kind: "fail", status: null, error: "request failed: the URL's port is blocked for fetch (a \"bad port\")" };
    return { kind: "retry", status: null, error: excerpt(`request failed: ${cause}`, redact), retryAfter: null };
  }
};
