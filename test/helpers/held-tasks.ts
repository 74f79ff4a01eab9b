import type { BackgroundTasks } from "../../src/background-tasks.js";

/**
 * Holds a server's background tasks instead of starting them, so that a test sees what a request
 * left for after its answer. `release` hands them to the real queue and waits for them; `restore`
 * starts tasks at once again.
 */
export function holdBackgroundTasks(tasks: BackgroundTasks) {
  const run = tasks.run;
  const held: { name: string; task: () => Promise<void> }[] = [];
  tasks.run = (name, task) => {
    held.push({ name, task });
  };
  return {
    /** The names of the tasks waiting, oldest first. */
    get names(): string[] {
      return held.map((entry) => entry.name);
    },
    async release(): Promise<void> {
      for (const { name, task } of held.splice(0)) run(name, task);
      await tasks.drain();
    },
    restore(): void {
      tasks.run = run;
    },
  };
}
