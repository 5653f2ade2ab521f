import type { Logger } from "../../lib/logger";

/** What the leader runs: started on election, stopped (and awaited) on stepping down. */
export interface LeaderTask {
  /** Ends the task; resolves once a pass in progress has finished. */
  stop(): Promise<void>;
}

/** One connection that may hold the leader lock. */
export interface LockSession {
  /** Takes the lock if free: true when this session holds it now. Rejects when the session failed. */
  tryAcquire(): Promise<boolean>;
  /** Whether this session still holds the lock. Rejects when the session failed. */
  holds(): Promise<boolean>;
  /** Unlocks and closes (shutdown). Never rejects; bounded. */
  release(): Promise<void>;
  /** Closes without unlocking: the lock ends with the session. Never rejects; bounded. */
  close(): Promise<void>;
}

/** Where sessions come from: an advisory lock on PostgreSQL, or the process itself (embedded). */
export interface LeaderLock {
  /** for logs: which lock this is */
  readonly description: string;
  /**
   * Opens a session. `lost` is called at most once, if the session fails or ends by itself after
   * connect resolved (not when released or closed by the caller).
   */
  connect(lost: (reason: string) => void): Promise<LockSession>;
}

export interface LeaderOptions {
  /** a follower tries to take the lock this often (LEADER_RETRY_MS) */
  retryMs: number;
  /** the leader checks its session this often (LEADER_CHECK_MS) */
  checkMs: number;
  /** a check that has not answered within this long fails */
  checkTimeoutMs: number;
}

/**
 * Leader election over a lock held by one session. The process tries the lock at start and every
 * `retryMs`; once it holds it, it starts the leader tasks and checks the session every `checkMs`
 * (bounded by `checkTimeoutMs`). Any failure — a check that errs, times out or finds the lock gone,
 * or the session failing or ending — makes it step down at once: it stops the tasks and waits for
 * them, and only then drops the session (so the lock, if the server still has it, is held until
 * this process has really stopped leading), then tries again after `retryMs`.
 *
 * Every step runs on one queue, so transitions never interleave; timers only enqueue steps, and a
 * step never throws (failures are logged), so nothing escapes a timer. `onChange` is told of each
 * transition (the vigil_leader gauge); "elected leader" and "stepped down" are logged once each.
 */
export class LeaderElection {
  private leader = false;
  private stopped = false;
  private session: LockSession | null = null;
  /** bumped whenever the session is dropped: a `lost` report of an older session is stale */
  private generation = 0;
  private tasks: LeaderTask[] = [];
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();
  /** a failed attempt has been logged; the next ones are quiet until one succeeds */
  private failing = false;

  constructor(
    private readonly lock: LeaderLock,
    private readonly startTasks: () => LeaderTask[],
    private readonly options: LeaderOptions,
    private readonly log: Logger,
    private readonly onChange: (leading: boolean) => void = () => {},
  ) {}

  /** Whether this process leads now (false from the moment it starts stepping down). */
  get leading(): boolean {
    return this.leader;
  }

  /** Makes the first attempt now; resolves when it is done, leader or not. Never rejects. */
  start(): Promise<void> {
    return this.enqueue(() => this.attempt());
  }

  /** Steps down if leading (tasks stopped and awaited, lock released), closes the session. Never rejects. */
  stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    return this.enqueue(async () => {
      if (this.leader) await this.stepDown("shutdown", true);
      else await this.dropSession(false);
    });
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    const next = this.queue.then(step).catch((err: unknown) => this.log.error({ err }, "leader election step failed"));
    this.queue = next;
    return next;
  }

  private schedule(step: () => Promise<void>, ms: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.enqueue(step), ms);
    this.timer.unref();
  }

  private async attempt(): Promise<void> {
    if (this.stopped || this.leader) return;
    let acquired = false;
    try {
      if (!this.session) this.session = await this.open();
      acquired = await this.session.tryAcquire();
      if (this.failing) this.log.info({ lock: this.lock.description }, "leader lock reachable again");
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.log.warn({ err, lock: this.lock.description, retryMs: this.options.retryMs }, "could not try the leader lock; retrying");
      this.failing = true;
      await this.dropSession(false);
    }
    if (acquired && !this.stopped) return this.becomeLeader();
    this.schedule(() => this.attempt(), this.options.retryMs);
  }

  private async open(): Promise<LockSession> {
    const generation = this.generation;
    return this.lock.connect((reason) => void this.enqueue(() => this.lost(generation, reason)));
  }

  private async becomeLeader(): Promise<void> {
    this.leader = true;
    try {
      this.tasks = this.startTasks();
    } catch (err) {
      this.log.error({ err }, "could not start the leader jobs");
      return this.stepDown("the leader jobs could not start", false);
    }
    this.log.info({ lock: this.lock.description }, "elected leader");
    this.onChange(true);
    this.schedule(() => this.check(), this.options.checkMs);
  }

  private async check(): Promise<void> {
    if (this.stopped || !this.leader || !this.session) return;
    let failure: string | null = null;
    try {
      if (!(await withTimeout(this.session.holds(), this.options.checkTimeoutMs))) failure = "the lock is no longer held";
    } catch (err) {
      failure = `lock connection check failed: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (failure !== null) return this.stepDown(failure, false);
    this.schedule(() => this.check(), this.options.checkMs);
  }

  private async lost(generation: number, reason: string): Promise<void> {
    if (generation !== this.generation || !this.session) return;
    if (this.leader) return this.stepDown(`lock connection lost: ${reason}`, false);
    // a follower: the next attempt (already scheduled) opens a new session
    await this.dropSession(false);
  }

  /** Stops the tasks and waits for them, then drops (or, on shutdown, releases) the session. */
  private async stepDown(reason: string, release: boolean): Promise<void> {
    clearTimeout(this.timer);
    this.leader = false;
    this.onChange(false);
    const started = Date.now();
    const tasks = this.tasks;
    this.tasks = [];
    await Promise.all(tasks.map((t) => t.stop().catch((err: unknown) => this.log.error({ err }, "a leader job failed to stop"))));
    await this.dropSession(release);
    this.log.info({ reason, lock: this.lock.description, stoppingMs: Date.now() - started }, "stepped down");
    this.schedule(() => this.attempt(), this.options.retryMs);
  }

  private async dropSession(release: boolean): Promise<void> {
    const session = this.session;
    this.session = null;
    this.generation++;
    if (!session) return;
    await (release ? session.release() : session.close()).catch((err: unknown) => this.log.warn({ err }, "closing the leader lock session failed"));
  }
}

/** Resolves or rejects as `p` does, or rejects once `ms` have passed. */
function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
