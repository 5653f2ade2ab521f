import { Coalescer } from "../../../../src/domain/registry/coalescer";

interface Ev {
  previous: string | null;
  state: string;
}

function make() {
  const delivered: Ev[] = [];
  const c = new Coalescer<string, Ev>({
    windowMs: 1_000,
    stateOf: (e) => e.state,
    rebase: (e, previous) => ({ ...e, previous }),
    deliver: (e) => delivered.push(e),
  });
  return { c, delivered };
}

describe("Coalescer", () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it("delivers the first change at once and the latest of a window when the window ends, rebased", () => {
    const { c, delivered } = make();
    c.offer("i", { previous: "A", state: "B" });
    expect(delivered).toEqual([{ previous: "A", state: "B" }]);
    c.offer("i", { previous: "B", state: "C" });
    c.offer("i", { previous: "C", state: "D" });
    expect(delivered).toHaveLength(1);
    jest.advanceTimersByTime(1_000);
    expect(delivered).toEqual([
      { previous: "A", state: "B" },
      { previous: "B", state: "D" },
    ]);
    // a new window opened with that delivery
    c.offer("i", { previous: "D", state: "E" });
    expect(delivered).toHaveLength(2);
    jest.advanceTimersByTime(1_000);
    expect(delivered[2]).toEqual({ previous: "D", state: "E" });
    jest.advanceTimersByTime(1_000);
    expect(c.open).toBe(0);
  });

  it("drops a window's change that ends where the last delivery left off", () => {
    const { c, delivered } = make();
    c.offer("i", { previous: "A", state: "B" });
    c.offer("i", { previous: "B", state: "A" });
    c.offer("i", { previous: "A", state: "B" });
    jest.advanceTimersByTime(1_000);
    expect(delivered).toEqual([{ previous: "A", state: "B" }]);
    expect(c.open).toBe(0);
    // the window is closed: the next change goes out at once
    c.offer("i", { previous: "B", state: "C" });
    expect(delivered).toHaveLength(2);
  });

  it("keeps keys apart and drops pending changes on stop", () => {
    const { c, delivered } = make();
    c.offer("i", { previous: null, state: "A" });
    c.offer("j", { previous: null, state: "A" });
    c.offer("i", { previous: "A", state: "B" });
    expect(delivered).toHaveLength(2);
    c.stop();
    jest.advanceTimersByTime(5_000);
    expect(delivered).toHaveLength(2);
    expect(c.open).toBe(0);
  });
});
