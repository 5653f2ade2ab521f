import { periodic } from "../../../src/jobs/periodic";
import { createLogger } from "../../../src/lib/logger";

const log = createLogger("silent");

describe("periodic", () => {
  it("runs again after the delay a tick asks for instead of the interval", async () => {
    let runs = 0;
    // the first run (at 1 s) asks for 5 ms; the second asks for nothing, so the third waits the full second
    const answers: Array<number | undefined> = [5, undefined];
    const job = periodic(
      "t",
      1_000,
      async () => {
        runs++;
        return answers.shift();
      },
      log,
    );
    await new Promise((r) => setTimeout(r, 1_500));
    await job.stop();
    expect(runs).toBe(2);
  });

  it("never waits longer than the interval, whatever a tick asks for", async () => {
    let runs = 0;
    const job = periodic(
      "t",
      20,
      async () => {
        runs++;
        return 3_600_000;
      },
      log,
    );
    await new Promise((r) => setTimeout(r, 300));
    await job.stop();
    expect(runs).toBeGreaterThanOrEqual(3);
  });
});
