import {
  type BreakerPolicy,
  type BreakerState,
  type CallResult,
  type Transition,
  DEFAULT_BREAKER_POLICY,
  acquire,
  classify,
  currentState,
  initialBreakerState,
  record,
} from "../../../../src/domain/registry/engine/circuit-breaker";

const T0 = Date.UTC(2024, 0, 15, 12, 0, 0);
const OK: CallResult = { durationMs: 20, success: true };
const FAIL: CallResult = { durationMs: 20, success: false };

const POLICY: BreakerPolicy = {
  failureRateThreshold: 50,
  slowCallDurationMs: 1_000,
  slowCallRateThreshold: 80,
  windowSize: 10,
  minimumCalls: 5,
  openStateSeconds: 30,
  halfOpenCalls: 3,
};

/**
 * A breaker driven by a fake clock, the way a caller uses the pure functions: every state goes
 * through JSON (as through a database row) and is frozen, so a mutation of an input would throw.
 */
class Driver {
  now = T0;
  state: BreakerState = initialBreakerState();
  readonly transitions: Transition[] = [];
  constructor(readonly policy: BreakerPolicy = POLICY) {}

  private store(next: BreakerState, transition?: Transition): void {
    this.state = Object.freeze(JSON.parse(JSON.stringify(next)) as BreakerState);
    if (transition) this.transitions.push(transition);
  }
  acquire(): boolean {
    const r = acquire(this.state, this.policy, this.now);
    this.store(r.state, r.transition);
    return r.allowed;
  }
  record(call: CallResult): void {
    const r = record(this.state, this.policy, this.now, call);
    this.store(r.state, r.transition);
  }
  /** acquire and record one call; false when rejected */
  call(result: CallResult): boolean {
    if (!this.acquire()) return false;
    this.record(result);
    return true;
  }
  get current() {
    return currentState(this.state, this.policy, this.now);
  }
  advance(seconds: number): void {
    this.now += seconds * 1000;
  }
}

/** A driver whose circuit has just opened on failures. */
function opened(policy = POLICY): Driver {
  const d = new Driver(policy);
  for (let i = 0; i < policy.minimumCalls; i++) d.call(FAIL);
  expect(d.state.state).toBe("OPEN");
  return d;
}

describe("circuit breaker", () => {
  it("has Resilience4j's defaults and starts CLOSED with an empty window", () => {
    expect(DEFAULT_BREAKER_POLICY).toEqual({
      failureRateThreshold: 50,
      slowCallDurationMs: 60_000,
      slowCallRateThreshold: 100,
      windowSize: 100,
      minimumCalls: 100,
      openStateSeconds: 60,
      halfOpenCalls: 10,
    });
    expect(initialBreakerState()).toEqual({ state: "CLOSED", outcomes: "", openedAt: null, halfOpenPermits: 0, halfOpenResults: "" });
  });

  it("classifies calls: slow is strictly slower than the limit", () => {
    expect([OK, FAIL, { durationMs: 1_001, success: true }, { durationMs: 1_001, success: false }].map((c) => classify(c, POLICY))).toEqual(["s", "f", "S", "F"]);
    expect(classify({ durationMs: 1_000, success: true }, POLICY)).toBe("s");
  });

  describe("CLOSED", () => {
    it("gives no verdict before minimumCalls, however many fail", () => {
      const d = new Driver();
      for (let i = 0; i < 4; i++) d.call(FAIL);
      expect(d.state).toMatchObject({ state: "CLOSED", outcomes: "ffff" });
      d.call(FAIL);
      expect(d.state).toMatchObject({ state: "OPEN", outcomes: "", openedAt: T0 });
      expect(d.transitions).toEqual([{ from: "CLOSED", to: "OPEN", reason: "failure rate 100 % ≥ 50 % over the last 5 calls" }]);
    });

    it("opens exactly at the failure-rate threshold", () => {
      const d = new Driver();
      for (const c of [OK, OK, OK, FAIL, FAIL]) d.call(c); // 40 %
      expect(d.state.state).toBe("CLOSED");
      d.call(OK); // 33 %
      d.call(FAIL); // 3 of 7 = 42.9 %
      expect(d.state.state).toBe("CLOSED");
      d.call(FAIL); // 4 of 8 = 50 %
      expect(d.state.state).toBe("OPEN");
      expect(d.transitions[0]!.reason).toBe("failure rate 50 % ≥ 50 % over the last 8 calls");
    });

    it("reports a fractional rate as in the brief: 62.5 % over 8 calls", () => {
      const d = new Driver({ ...POLICY, failureRateThreshold: 60, minimumCalls: 8 });
      for (const c of [FAIL, FAIL, FAIL, FAIL, OK, OK, OK, FAIL]) d.call(c);
      expect(d.transitions).toEqual([{ from: "CLOSED", to: "OPEN", reason: "failure rate 62.5 % ≥ 60 % over the last 8 calls" }]);
    });

    it("slides the window over the last windowSize calls", () => {
      const d = new Driver({ ...POLICY, windowSize: 4, minimumCalls: 4, failureRateThreshold: 75 });
      for (const c of [FAIL, FAIL, OK, OK, OK, OK, FAIL, FAIL]) d.call(c);
      expect(d.state).toMatchObject({ state: "CLOSED", outcomes: "ssff" });
      d.call(FAIL);
      expect(d.state.state).toBe("OPEN");
      expect(d.transitions[0]!.reason).toBe("failure rate 75 % ≥ 75 % over the last 4 calls");
    });

    it("caps minimumCalls at windowSize (as Resilience4j does)", () => {
      const d = new Driver({ ...POLICY, windowSize: 3, minimumCalls: 50 });
      for (const c of [FAIL, FAIL]) d.call(c);
      expect(d.state.state).toBe("CLOSED");
      d.call(FAIL);
      expect(d.state.state).toBe("OPEN");
    });

    it("opens on the slow-call rate even when every call succeeds, and a slow failure counts in both", () => {
      const slow = { durationMs: 5_000, success: true };
      const d = new Driver();
      for (const c of [slow, slow, slow, OK]) d.call(c);
      d.call(slow); // 4 of 5 slow = 80 %
      expect(d.transitions).toEqual([{ from: "CLOSED", to: "OPEN", reason: "slow-call rate 80 % ≥ 80 % (slower than 1000 ms) over the last 5 calls" }]);

      const both = new Driver();
      for (let i = 0; i < 5; i++) both.call({ durationMs: 5_000, success: false });
      expect(both.transitions[0]!.reason).toBe("failure rate 100 % ≥ 50 % and slow-call rate 100 % ≥ 80 % (slower than 1000 ms) over the last 5 calls");
    });

    it("with the defaults, opens after 100 calls and not at 99", () => {
      const d = new Driver(DEFAULT_BREAKER_POLICY);
      for (let i = 0; i < 99; i++) d.call(FAIL);
      expect(d.state.state).toBe("CLOSED");
      d.call(FAIL);
      expect(d.state.state).toBe("OPEN");
    });
  });

  describe("OPEN", () => {
    it("rejects calls until openStateSeconds have passed, without changing its state", () => {
      const d = opened();
      const before = d.state;
      d.advance(29.999);
      expect(acquire(before, POLICY, d.now)).toEqual({ state: before, allowed: false });
      expect(currentState(before, POLICY, d.now)).toBe("OPEN");
      d.advance(0.001);
      expect(currentState(before, POLICY, d.now)).toBe("HALF_OPEN");
    });

    it("ignores results of calls that were in flight when it opened", () => {
      const d = opened();
      const r = record(d.state, POLICY, d.now, FAIL);
      expect(r.state).toBe(d.state);
      expect(r.transition).toBeUndefined();
      // even after the wait: the state is still OPEN until someone acquires
      expect(record(d.state, POLICY, d.now + 60_000, OK).state).toBe(d.state);
    });
  });

  describe("HALF_OPEN", () => {
    it("moves from OPEN on the first acquire after the wait and hands out exactly halfOpenCalls permits", () => {
      const d = opened();
      d.advance(30);
      expect([d.acquire(), d.acquire(), d.acquire(), d.acquire(), d.acquire()]).toEqual([true, true, true, false, false]);
      expect(d.state).toMatchObject({ state: "HALF_OPEN", halfOpenPermits: 3, halfOpenResults: "", openedAt: T0 });
      expect(d.transitions[1]).toEqual({ from: "OPEN", to: "HALF_OPEN", reason: "open for 30 s, wait of 30 s over: allowing 3 trial calls" });
    });

    it("closes when the trial calls are below both thresholds, with an empty window", () => {
      const d = opened();
      d.advance(45);
      for (let i = 0; i < 3; i++) d.acquire();
      d.record(OK);
      d.record(FAIL);
      expect(d.state).toMatchObject({ state: "HALF_OPEN", halfOpenResults: "sf" });
      d.record(OK);
      expect(d.state).toEqual(initialBreakerState());
      expect(d.transitions[2]).toEqual({
        from: "HALF_OPEN",
        to: "CLOSED",
        reason: "failure rate 33.33 % < 50 % and slow-call rate 0 % < 80 % over 3 trial calls",
      });
      expect(d.call(FAIL)).toBe(true);
      expect(d.state.outcomes).toBe("f");
    });

    it("opens again when the trial calls reach a threshold, and the wait starts over", () => {
      const d = opened();
      d.advance(31);
      for (let i = 0; i < 3; i++) d.acquire();
      for (const c of [OK, FAIL, FAIL]) d.record(c);
      expect(d.state).toMatchObject({ state: "OPEN", openedAt: T0 + 31_000, outcomes: "", halfOpenPermits: 0 });
      expect(d.transitions[2]).toEqual({ from: "HALF_OPEN", to: "OPEN", reason: "failure rate 66.67 % ≥ 50 % over 3 trial calls" });
      d.advance(29);
      expect(d.acquire()).toBe(false);
      d.advance(1);
      expect(d.acquire()).toBe(true);
    });

    it("opens again on slow trial calls", () => {
      const d = opened();
      d.advance(30);
      for (let i = 0; i < 3; i++) d.acquire();
      for (let i = 0; i < 3; i++) d.record({ durationMs: 2_000, success: true });
      expect(d.state.state).toBe("OPEN");
      expect(d.transitions[2]!.reason).toBe("slow-call rate 100 % ≥ 80 % (slower than 1000 ms) over 3 trial calls");
    });

    it("counts no more results than permits handed out (a late call from before cannot decide alone)", () => {
      const d = opened();
      d.advance(30);
      d.acquire(); // one permit out
      d.record(OK);
      const after = d.state;
      d.record(FAIL); // a second result with only one permit: ignored
      expect(d.state).toEqual(after);
      expect(d.state.halfOpenResults).toBe("s");
    });

    it("runs the full cycle CLOSED → OPEN → HALF_OPEN → OPEN → HALF_OPEN → CLOSED", () => {
      const d = opened();
      d.advance(30);
      for (let i = 0; i < 3; i++) d.call(FAIL);
      d.advance(30);
      for (let i = 0; i < 3; i++) d.call(OK);
      expect(d.transitions.map((t) => `${t.from}→${t.to}`)).toEqual(["CLOSED→OPEN", "OPEN→HALF_OPEN", "HALF_OPEN→OPEN", "OPEN→HALF_OPEN", "HALF_OPEN→CLOSED"]);
      expect(d.current).toBe("CLOSED");
    });
  });

  it("round-trips through JSON at every step with the same behaviour as in memory", () => {
    const calls = [FAIL, OK, FAIL, FAIL, FAIL, FAIL, OK, OK, OK, OK, FAIL, OK];
    const viaJson = new Driver();
    let inMemory = initialBreakerState();
    calls.forEach((c, i) => {
      const now = T0 + i * 10_000;
      viaJson.now = now;
      viaJson.call(c);
      const a = acquire(inMemory, POLICY, now);
      inMemory = a.allowed ? record(a.state, POLICY, now, c).state : a.state;
      expect(viaJson.state).toEqual(inMemory);
      expect(JSON.parse(JSON.stringify(inMemory))).toEqual(inMemory);
    });
    expect(viaJson.transitions.length).toBeGreaterThanOrEqual(3);
  });

  it("restarts CLOSED from a row holding an unknown state instead of throwing", () => {
    const corrupt = { ...initialBreakerState(), state: "BROKEN" } as unknown as BreakerState;
    expect(acquire(corrupt, POLICY, T0)).toEqual({ state: initialBreakerState(), allowed: true });
    expect(record(corrupt, POLICY, T0, OK).state).toEqual(initialBreakerState());
  });
});
