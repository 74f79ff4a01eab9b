import type { Logger } from "./logger.js";

export interface BackgroundTasks {
  /** Runs the task without making the caller wait; a failure is logged, never thrown. */
  run(name: string, task: () => Promise<void>): void;
  /** Waits for every task still running (at shutdown, and in tests). */
  drain(): Promise<void>;
}

export function createBackgroundTasks(logger: Logger): BackgroundTasks {
  const running = new Set<Promise<void>>();
  return {
    run(name, task) {
      const promise: Promise<void> = task()
        .catch((error: unknown) => logger.error({ err: error, task: name }, "background task failed"))
        .finally(() => running.delete(promise));
      running.add(promise);
    },
    async drain() {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
  };
}
