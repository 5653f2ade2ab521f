import pino from "pino";
import { type LeaderLock, type LeaderTask, type LockSession, LeaderElection } from "../../../../src/domain/cluster/leader";
import { soloLock } from "../../../../src/domain/cluster/advisory-lock";

// The election's state machine driven with fake timers and a fake lock: which steps happen, in
// which order, and that no failure escapes (an unhandled rejection would fail the test run).

const RETRY = 100;
const CHECK = 50;
const CHECK_TIMEOUT = 30;

interface Line {
  level: number;
  msg: string;
  reason?: string;
}

/** Shared order of what happened: tasks stopping, sessions closing. */
let events: string[];

class FakeSession implements LockSession {
  holding = false;
  ended = false;
  /** what the next checks answer; a function to make one hang or fail */
  holdsAnswer: () => Promise<boolean> = async () => this.holding;

  constructor(
    private readonly lock: FakeLock,
    readonly lost: (reason: string) => void,
    readonly n: number,
  ) {}

  async tryAcquire(): Promise<boolean> {
    if (this.ended) throw new Error("session ended");
    if (this.lock.acquireError) throw this.lock.acquireError;
    if (!this.holding && this.lock.free) {
      this.lock.free = false;
      this.holding = true;
    }
    return this.holding;
  }

  holds(): Promise<boolean> {
    return this.holdsAnswer();
  }

  async release(): Promise<void> {
    events.push(`release ${this.n}`);
    this.end();
  }

  async close(): Promise<void> {
    events.push(`close ${this.n}`);
    this.end();
  }

  private end(): void {
    this.ended = true;
    if (this.holding) this.lock.free = true;
    this.holding = false;
  }
}

class FakeLock implements LeaderLock {
  readonly description = "fake lock";
  free = true;
  connectError: Error | null = null;
  acquireError: Error | null = null;
  sessions: FakeSession[] = [];

  async connect(lost: (reason: string) => void): Promise<LockSession> {
    if (this.connectError) throw this.connectError;
    const s = new FakeSession(this, lost, this.sessions.length + 1);
    this.sessions.push(s);
    return s;
  }

  get current(): FakeSession {
    return this.sessions[this.sessions.length - 1]!;
  }
}

function setup(opts: { taskStopMs?: number; startTasks?: () => LeaderTask[] } = {}) {
  const lock = new FakeLock();
  const lines: Line[] = [];
  const log = pino({ level: "debug" }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
  const changes: boolean[] = [];
  let started = 0;
  const startTasks =
    opts.startTasks ??
    (() => {
      const n = ++started;
      return [
        {
          stop: () =>
            new Promise<void>((resolve) =>
              setTimeout(() => {
                events.push(`tasks ${n} stopped`);
                resolve();
              }, opts.taskStopMs ?? 0),
            ),
        },
      ];
    });
  const election = new LeaderElection(lock, startTasks, { retryMs: RETRY, checkMs: CHECK, checkTimeoutMs: CHECK_TIMEOUT }, log, (leading) => changes.push(leading));
  const said = (msg: string) => lines.filter((l) => l.msg === msg);
  return { lock, election, changes, said, started: () => started, lines };
}

/** stop() waits for the jobs, whose stop runs on (fake) timers */
async function stopAll(election: LeaderElection): Promise<void> {
  const done = election.stop();
  await jest.advanceTimersByTimeAsync(RETRY);
  await done;
}

beforeEach(() => {
  events = [];
  jest.useFakeTimers();
});
afterEach(() => {
  jest.useRealTimers();
});

describe("LeaderElection", () => {
  it("a follower tries every retry period until the lock is free, then starts the leader jobs once", async () => {
    const { lock, election, changes, said, started } = setup();
    lock.free = false; // another process holds it
    await election.start();
    expect(election.leading).toBe(false);
    expect(changes).toEqual([]);

    await jest.advanceTimersByTimeAsync(RETRY * 3);
    expect(election.leading).toBe(false);
    expect(lock.sessions).toHaveLength(1); // one connection, reused by every try

    lock.free = true; // the other leader is gone
    await jest.advanceTimersByTimeAsync(RETRY);
    expect(election.leading).toBe(true);
    expect(started()).toBe(1);
    expect(changes).toEqual([true]);
    expect(said("elected leader")).toHaveLength(1);

    // checks that pass change nothing
    await jest.advanceTimersByTimeAsync(CHECK * 10);
    expect(started()).toBe(1);
    expect(said("elected leader")).toHaveLength(1);
    await stopAll(election);
  });

  it("a failed check steps down at once: jobs stopped and awaited before the session is dropped, then it tries again", async () => {
    const { lock, election, changes, said, started } = setup({ taskStopMs: 40 });
    await election.start();
    expect(election.leading).toBe(true);
    const first = lock.current;
    first.holdsAnswer = async () => {
      throw new Error("Connection terminated unexpectedly");
    };
    await jest.advanceTimersByTimeAsync(CHECK);
    // the step-down began: not leading (and the gauge says so) while the jobs finish
    expect(election.leading).toBe(false);
    expect(changes).toEqual([true, false]);
    await jest.advanceTimersByTimeAsync(40);
    expect(events).toEqual(["tasks 1 stopped", "close 1"]);
    const [down] = said("stepped down");
    expect(down?.reason).toBe("lock connection check failed: Connection terminated unexpectedly");

    // after the retry period: a new session, leader again with fresh jobs
    await jest.advanceTimersByTimeAsync(RETRY);
    expect(lock.sessions).toHaveLength(2);
    expect(election.leading).toBe(true);
    expect(started()).toBe(2);
    expect(changes).toEqual([true, false, true]);
    await stopAll(election);
  });

  it("a check that does not answer within its timeout counts as failed", async () => {
    const { lock, election, said } = setup();
    await election.start();
    lock.current.holdsAnswer = () => new Promise<boolean>(() => {}); // a partition: no answer ever
    await jest.advanceTimersByTimeAsync(CHECK + CHECK_TIMEOUT);
    expect(election.leading).toBe(false);
    await jest.advanceTimersByTimeAsync(1); // the jobs' stop
    expect(said("stepped down")[0]?.reason).toBe(`lock connection check failed: no answer within ${CHECK_TIMEOUT} ms`);
    expect(events).toEqual(["tasks 1 stopped", "close 1"]);
    await stopAll(election);
  });

  it("a session that no longer holds the lock steps down", async () => {
    const { lock, election, said } = setup();
    await election.start();
    lock.current.holdsAnswer = async () => false;
    await jest.advanceTimersByTimeAsync(CHECK + 1);
    expect(election.leading).toBe(false);
    expect(said("stepped down")[0]?.reason).toBe("the lock is no longer held");
    await stopAll(election);
  });

  it("a connection that ends steps down without waiting for the next check", async () => {
    const { lock, election, said } = setup();
    await election.start();
    lock.current.lost("the connection ended");
    await jest.advanceTimersByTimeAsync(1);
    expect(election.leading).toBe(false);
    expect(said("stepped down")[0]?.reason).toBe("lock connection lost: the connection ended");
    expect(events).toEqual(["tasks 1 stopped", "close 1"]);
    // a late report about the dropped session changes nothing
    lock.sessions[0]!.lost("again");
    await jest.advanceTimersByTimeAsync(0);
    expect(said("stepped down")).toHaveLength(1);
    await stopAll(election);
  });

  it("a follower whose session fails opens a new one at the next try", async () => {
    const { lock, election } = setup();
    lock.free = false;
    await election.start();
    lock.current.lost("the connection ended");
    await jest.advanceTimersByTimeAsync(0);
    expect(events).toEqual(["close 1"]);
    lock.free = true;
    await jest.advanceTimersByTimeAsync(RETRY);
    expect(lock.sessions).toHaveLength(2);
    expect(election.leading).toBe(true);
    await stopAll(election);
  });

  it("connection failures are retried and logged once per streak; never thrown", async () => {
    const { lock, election, said } = setup();
    lock.connectError = new Error("connect ECONNREFUSED 127.0.0.1:5432");
    await election.start();
    await jest.advanceTimersByTimeAsync(RETRY * 5);
    expect(election.leading).toBe(false);
    expect(said("could not try the leader lock; retrying")).toHaveLength(1);
    lock.connectError = null;
    await jest.advanceTimersByTimeAsync(RETRY);
    expect(election.leading).toBe(true);
    expect(said("leader lock reachable again")).toHaveLength(1);
    await stopAll(election);
  });

  it("a try that fails drops its session and the next try uses a new one", async () => {
    const { lock, election } = setup();
    lock.acquireError = new Error("Query read timeout");
    await election.start();
    expect(events).toEqual(["close 1"]);
    lock.acquireError = null;
    await jest.advanceTimersByTimeAsync(RETRY);
    expect(lock.sessions).toHaveLength(2);
    expect(election.leading).toBe(true);
    await stopAll(election);
  });

  it("stop while leading stops the jobs, then releases the lock, and tries no more", async () => {
    const { lock, election, changes, said } = setup({ taskStopMs: 20 });
    await election.start();
    const stopped = election.stop();
    await jest.advanceTimersByTimeAsync(20);
    await stopped;
    expect(events).toEqual(["tasks 1 stopped", "release 1"]);
    expect(lock.free).toBe(true);
    expect(changes).toEqual([true, false]);
    expect(said("stepped down")[0]?.reason).toBe("shutdown");
    await jest.advanceTimersByTimeAsync(RETRY * 5);
    expect(lock.sessions).toHaveLength(1);
    expect(jest.getTimerCount()).toBe(0);
  });

  it("stop while following closes the session and leaves no timer", async () => {
    const { lock, election, changes } = setup();
    lock.free = false;
    await election.start();
    await election.stop();
    expect(events).toEqual(["close 1"]);
    expect(changes).toEqual([]);
    expect(jest.getTimerCount()).toBe(0);
  });

  it("jobs that cannot start leave it a follower that tries again", async () => {
    let calls = 0;
    const { election, changes } = setup({
      startTasks: () => {
        if (++calls === 1) throw new Error("boom");
        return [];
      },
    });
    await election.start();
    expect(election.leading).toBe(false);
    await jest.advanceTimersByTimeAsync(RETRY);
    expect(election.leading).toBe(true);
    expect(changes.at(-1)).toBe(true);
    await stopAll(election);
  });

  it("on the embedded database the process is the leader at once and stays so", async () => {
    const changes: boolean[] = [];
    const election = new LeaderElection(soloLock(), () => [], { retryMs: RETRY, checkMs: CHECK, checkTimeoutMs: CHECK_TIMEOUT }, pino({ level: "silent" }), (l) =>
      changes.push(l),
    );
    await election.start();
    expect(election.leading).toBe(true);
    await jest.advanceTimersByTimeAsync(CHECK * 20);
    expect(changes).toEqual([true]);
    await election.stop();
    expect(changes).toEqual([true, false]);
  });
});
