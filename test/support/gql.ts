import type { GraphQLFormattedError } from "graphql";

export interface GqlResponse<T = any> {
  status: number;
  data?: T;
  errors?: GraphQLFormattedError[];
}

/** POSTs one operation over real HTTP. */
export async function gql<T = any>(
  url: string,
  key: string | undefined,
  query: string,
  variables?: Record<string, unknown>,
): Promise<GqlResponse<T>> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  let body: { data?: T; errors?: GraphQLFormattedError[] };
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`non-JSON response ${res.status} to ${query}: ${text.slice(0, 500)}`);
  }
  return { status: res.status, data: body.data, errors: body.errors };
}

/** Like gql, but fails with the query and the whole response when there are errors. */
export async function gqlOk<T = any>(url: string, key: string | undefined, query: string, variables?: Record<string, unknown>): Promise<T> {
  const r = await gql<T>(url, key, query, variables);
  if (r.errors?.length || r.data === undefined || r.data === null) {
    throw new Error(`GraphQL errors for\n${query}\nvariables ${JSON.stringify(variables)}\n→ ${r.status} ${JSON.stringify(r)}`);
  }
  return r.data;
}

/** Asserts the response failed with one error of `code`, and returns the error for more checks. */
export function expectError(r: GqlResponse, code: string, messagePart?: string | RegExp): GraphQLFormattedError {
  const detail = JSON.stringify(r);
  if (!r.errors?.length) throw new Error(`expected error ${code}, got success: ${detail}`);
  const err = r.errors[0]!;
  if (err.extensions?.code !== code) throw new Error(`expected error ${code}, got: ${detail}`);
  if (messagePart !== undefined) {
    const ok = typeof messagePart === "string" ? err.message.includes(messagePart) : messagePart.test(err.message);
    if (!ok) throw new Error(`expected message matching ${messagePart}, got: ${detail}`);
  }
  return err;
}
