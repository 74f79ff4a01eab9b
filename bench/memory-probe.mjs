// Preloaded into the server by bench/memory.ts (`node --import ./bench/memory-probe.mjs dist/main.js`):
// notes every WebAssembly memory the process creates (PGlite's heap, Prisma's query compiler, the
// schema engine if it loads) and, on SIGUSR2, writes what only the process itself can see to
// $MEMORY_PROBE_FILE. Plain JavaScript, so the production build runs without tsx.
import { writeFileSync } from "node:fs";
import v8 from "node:v8";
import { isMainThread } from "node:worker_threads";

// Weakly held, so that a memory its owner dropped (initdb's PGlite on a first start) can go.
const memories = []; // { ref: WeakRef<WebAssembly.Memory>, owner }
const Memory = WebAssembly.Memory;
const note = (memory, owner) => {
  if (memory instanceof Memory && !memories.some((entry) => entry.ref.deref() === memory)) memories.push({ ref: new WeakRef(memory), owner });
};
// The package that made it, or our file that did (src/db/schema-engine.ts instantiates the schema engine).
const ownerOf = () => {
  const caller = (new Error().stack ?? "")
    .split("\n")
    .slice(1)
    .find((line) => !line.includes("memory-probe.mjs"));
  return caller?.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1] ?? caller?.match(/\/(?:dist|src)\/([^:]+)/)?.[1] ?? "unknown";
};
const exportedMemories = (instance) => Object.values(instance.exports).filter((value) => value instanceof Memory);

WebAssembly.Memory = new Proxy(Memory, {
  construct(target, args) {
    const memory = new target(...args);
    note(memory, ownerOf());
    return memory;
  },
});
WebAssembly.Instance = new Proxy(WebAssembly.Instance, {
  construct(target, args) {
    const instance = new target(...args);
    for (const memory of exportedMemories(instance)) note(memory, ownerOf());
    return instance;
  },
});
const instantiate = WebAssembly.instantiate;
WebAssembly.instantiate = async function (...args) {
  const owner = ownerOf();
  const result = await instantiate.apply(this, args);
  for (const memory of exportedMemories(result.instance ?? result)) note(memory, owner);
  return result;
};

const figures = () => {
  const usage = process.memoryUsage();
  return {
    thread: isMainThread ? "main" : "worker",
    heapTotal: usage.heapTotal,
    heapUsed: usage.heapUsed,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
    spaces: Object.fromEntries(v8.getHeapSpaceStatistics().map((space) => [space.space_name, space.space_size])),
    wasm: memories.flatMap(({ ref, owner }) => {
      const memory = ref.deref();
      return memory ? [{ owner, bytes: memory.buffer.byteLength }] : [];
    }),
  };
};

// Worker threads (the PGlite thread) inherit `--import` and load this probe too; a signal reaches
// only the main thread, which asks them over a BroadcastChannel and writes every thread's figures.
const channel = new BroadcastChannel("memory-probe");
channel.unref();
if (isMainThread) {
  process.on("SIGUSR2", () => {
    const threads = [figures()];
    const collect = (event) => {
      if (typeof event.data === "object") threads.push(event.data);
    };
    channel.addEventListener("message", collect);
    channel.postMessage("report");
    setTimeout(() => {
      channel.removeEventListener("message", collect);
      writeFileSync(process.env.MEMORY_PROBE_FILE, JSON.stringify({ ...threads[0], threads }));
    }, 500);
  });
} else {
  channel.addEventListener("message", (event) => {
    if (event.data === "report") channel.postMessage(figures());
  });
}
