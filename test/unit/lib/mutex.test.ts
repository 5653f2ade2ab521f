import { Mutex } from "../../../src/lib/mutex";

describe("Mutex", () => {
  it("runs units of work one at a time, in arrival order, even when some fail", async () => {
    const m = new Mutex();
    const log: string[] = [];
    let running = 0;
    const unit = (name: string, fail = false) =>
      m.run(async () => {
        running++;
        expect(running).toBe(1);
        log.push(`start ${name}`);
        await new Promise((r) => setTimeout(r, 5));
        log.push(`end ${name}`);
        running--;
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([unit("a"), unit("b", true), unit("c")]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(log).toEqual(["start a", "end a", "start b", "end b", "start c", "end c"]);
    expect(m.depth).toBe(0);
  });
});
