import cluster, { type Worker } from "node:cluster";
import { AggregatorRegistry, type Registry } from "prom-client";

type Figures = Awaited<ReturnType<Registry["getMetricsAsJSON"]>>;

// Worker → primary: a scrape arrived; primary → every ready worker: your figures; and back.
type Message =
  | { type: "idp:metrics-wanted"; id: number }
  | { type: "idp:metrics-gathered"; id: number; text?: string; error?: string }
  | { type: "idp:metrics-collect"; id: number }
  | { type: "idp:metrics-collected"; id: number; metrics: Figures };

const GATHER_TIMEOUT_MS = 3_000;

/** The callback of a send to a process that may have just ended: its exit is handled elsewhere. */
const ignoreEnded = () => {};

const isMessage = (message: unknown): message is Message =>
  typeof message === "object" && message !== null && typeof (message as { type?: unknown }).type === "string" && "id" in message;

/**
 * In the cluster primary: answers a worker's scrape with every ready worker's figures, summed
 * (gauges and counters) or as prom-client's default metrics say (`aggregator`). Not prom-client's
 * `clusterMetrics()`: that asks every connected worker, and one still starting cannot answer yet,
 * so each scrape during a restart would wait for its time-out and fail.
 */
export function answerMetricsScrapes(readyWorkers: () => Worker[]): void {
  let nextId = 0;
  const collecting = new Map<number, (metrics: Message & { type: "idp:metrics-collected" }) => void>();

  const gather = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const workers = readyWorkers();
      const id = nextId++;
      const figures: Figures[] = [];
      const timer = setTimeout(() => {
        collecting.delete(id);
        reject(new Error(`${workers.length - figures.length} of ${workers.length} workers did not report their metrics`));
      }, GATHER_TIMEOUT_MS);
      collecting.set(id, (reply) => {
        figures.push(reply.metrics);
        if (figures.length < workers.length) return;
        clearTimeout(timer);
        collecting.delete(id);
        resolve(AggregatorRegistry.aggregate(figures).metrics());
      });
      // With a callback, a worker that has just ended fails its send there instead of as an 'error' event.
      for (const worker of workers) worker.send({ type: "idp:metrics-collect", id } satisfies Message, ignoreEnded);
    });

  cluster.on("message", (worker, message: unknown) => {
    if (!isMessage(message)) return;
    if (message.type === "idp:metrics-collected") collecting.get(message.id)?.(message);
    if (message.type !== "idp:metrics-wanted") return;
    const reply = (answer: { text?: string; error?: string }) => {
      if (worker.isConnected()) worker.send({ type: "idp:metrics-gathered", id: message.id, ...answer } satisfies Message, ignoreEnded);
    };
    gather().then(
      (text) => reply({ text }),
      (error: Error) => reply({ error: error.message }),
    );
  });
}

/** In a cluster worker: reports `registry` to the primary, and scrapes the whole server through it. */
export function clusterMetricsSource(registry: Registry): () => Promise<string> {
  let nextId = 0;
  const waiting = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void }>();
  process.on("message", (message: unknown) => {
    if (!isMessage(message)) return;
    if (message.type === "idp:metrics-collect") {
      void registry
        .getMetricsAsJSON()
        .then((metrics) => process.send?.({ type: "idp:metrics-collected", id: message.id, metrics } satisfies Message, ignoreEnded));
    }
    if (message.type !== "idp:metrics-gathered") return;
    const scrape = waiting.get(message.id);
    waiting.delete(message.id);
    if (message.text !== undefined) scrape?.resolve(message.text);
    else scrape?.reject(new Error(message.error ?? "no answer"));
  });
  return () =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error("the cluster primary did not answer"));
      }, GATHER_TIMEOUT_MS * 2);
      waiting.set(id, {
        resolve: (text) => {
          clearTimeout(timer);
          resolve(text);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      process.send?.({ type: "idp:metrics-wanted", id } satisfies Message, (error: Error | null) => error && waiting.get(id)?.reject(error));
    });
}
