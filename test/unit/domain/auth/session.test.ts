import { ACTIONS, type Action, AnonymousSession, PlatformSession, Scope, TenantSession, topicIdOf } from "../../../../src/domain/auth";

const T1 = "11111111-1111-4111-8111-111111111111";
const T2 = "22222222-2222-4222-8222-222222222222";

describe("Session.authorize", () => {
  it("an anonymous session is UNAUTHENTICATED for every action", () => {
    for (const action of Object.keys(ACTIONS) as Action[]) {
      expect(() => new AnonymousSession().authorize(action)).toThrow(expect.objectContaining({ code: "UNAUTHENTICATED" }));
    }
  });

  it("a platform admin may do everything, on the tenant it names", () => {
    const admin = new PlatformSession("env", "VIGIL_ADMIN_KEY");
    for (const action of Object.keys(ACTIONS) as Action[]) {
      expect(admin.authorize(action, T2)).toBe(T2);
      expect(admin.authorize(action)).toBeUndefined();
    }
    expect(topicIdOf(admin)).toBe("platform");
  });

  it("a tenant key never performs platform actions, whatever its scopes", () => {
    const key = new TenantSession(T1, "k", "all", Object.values(Scope));
    for (const action of ["tenant:create", "tenant:list", "tenant:delete"] as const) {
      expect(() => key.authorize(action)).toThrow(expect.objectContaining({ code: "FORBIDDEN", message: `${action} needs a platform admin key` }));
    }
  });

  it("a tenant key needs the action's scope, and acts only on its own tenant", () => {
    const reader = new TenantSession(T1, "k", "reader", [Scope.METRICS_READ]);
    expect(reader.authorize("tenant:read")).toBe(T1);
    expect(() => reader.authorize("apiKey:create")).toThrow(expect.objectContaining({ code: "FORBIDDEN", message: expect.stringContaining("TENANT_ADMIN") }));
    const admin = new TenantSession(T1, "k", "admin", [Scope.TENANT_ADMIN]);
    expect(admin.authorize("apiKey:create")).toBe(T1);
    expect(admin.authorize("apiKey:create", T1)).toBe(T1);
    expect(() => admin.authorize("apiKey:create", T2)).toThrow(expect.objectContaining({ code: "FORBIDDEN" }));
    expect(topicIdOf(admin)).toBe(T1);
    expect(admin.actor).toBe("key:k (admin)");
  });

  it("every scope-gated action names a real scope", () => {
    for (const need of Object.values(ACTIONS)) {
      if (need !== "platform" && need !== "any") expect(Object.values(Scope)).toContain(need);
    }
  });
});
