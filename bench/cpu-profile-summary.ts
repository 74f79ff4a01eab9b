// Where a target's main thread spent its CPU, from a V8 .cpuprofile (`--cpu-prof`):
//   tsx bench/cpu-profile-summary.ts FILE.cpuprofile [--last SECONDS] [--per N]
// --last: only the profile's last SECONDS (the measured phase, when it ends just before the target
// stopped); --per: also print each figure divided by N (e.g. the flows measured in that window).
// Prints self time by area (npm package, Node internals, our src/ directory, GC) and inclusive time
// of the packages a request passes through (a sample counts for each package on its stack).
// --callers NAME: where the self time of functions named NAME comes from (the first frame of ours or of a package above it).
// Work on other threads (argon2 on libuv's pool, PostgreSQL) is not in a main-thread profile.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The area a frame belongs to: `pkg:<name>`, `node:<module>`, `src/<dir>`, or V8's own (GC, program, idle). */
export function areaOf(frame: ProfileNode["callFrame"]): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  const pkg = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//)?.[1];
  if (pkg) return `pkg:${pkg}`;
  if (url.startsWith("node:"))
    return `node:${
      url
        .slice(5)
        .replace(/^internal\//, "")
        .split("/")[0]
    }`;
  const src = url.match(/\/(src|bench|test)\/(?:([^/]+)\/)?[^/]+$/);
  if (src) return `${src[1]}/${src[2] ?? ""}`;
  return url.startsWith("wasm") ? "(wasm)" : "(other)";
}

/** What a flow's CPU goes to, each a test on one frame; a sample counts for a category when any frame on its stack passes. */
const CATEGORIES: [string, (frame: ProfileNode["callFrame"]) => boolean][] = [
  [
    "SQL (Prisma, pg, our db/)",
    (f) => /node_modules\/(@prisma|pg|pg-pool|pg-protocol|pglite-prisma-adapter|@electric-sql)\//.test(f.url) || /\/src\/db\//.test(f.url),
  ],
  ["oidc-provider", (f) => f.url.includes("node_modules/oidc-provider/")],
  ["WebAuthn verification (@simplewebauthn/server)", (f) => f.url.includes("node_modules/@simplewebauthn/server/")],
  ["JWT signing (jose: ID token)", (f) => f.url.includes("node_modules/jose/")],
  ["signed cookies (cookies, keygrip, tsscmp)", (f) => /node_modules\/(cookies|keygrip|tsscmp)\//.test(f.url)],
  ["templates (eta)", (f) => f.url.includes("node_modules/eta/")],
  ["request bodies (@koa/bodyparser, co-body)", (f) => /node_modules\/(@koa\/bodyparser|co-body|raw-body)\//.test(f.url)],
  ["socket writes (writev, writeUtf8String, writeBuffer)", (f) => /^(writev|writeUtf8String|writeBuffer|writeLatin1String)$/.test(f.functionName) && !f.url],
  ["GC", (f) => f.functionName === "(garbage collector)"],
];

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { last: { type: "string" }, per: { type: "string" }, callers: { type: "string" } },
});
const profile = JSON.parse(readFileSync(positionals[0] as string, "utf8")) as Profile;
const per = values.per ? Number(values.per) : null;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);

// A sample lasts until the next one.
const times: number[] = profile.samples.map((_, i) => (profile.timeDeltas[i + 1] ?? 0) / 1000);
const ends: number[] = [];
let clock = 0;
for (const delta of profile.timeDeltas) {
  clock += delta / 1000;
  ends.push(clock);
}
const from = values.last ? clock - Number(values.last) * 1000 : Number.NEGATIVE_INFINITY;

const categories = new Map<string, number>();
const callers = new Map<string, number>();
const self = new Map<string, number>();
const inclusive = new Map<string, number>();
const selfByFunction = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  if ((ends[i] as number) < from) return;
  const ms = times[i] as number;
  const node = byId.get(id) as ProfileNode;
  const area = areaOf(node.callFrame);
  if (area === "(idle)") return;
  total += ms;
  self.set(area, (self.get(area) ?? 0) + ms);
  const name = `${node.callFrame.functionName || "(anonymous)"} ${node.callFrame.url.replace(/^.*node_modules\//, "")}:${node.callFrame.lineNumber + 1}`;
  selfByFunction.set(name, (selfByFunction.get(name) ?? 0) + ms);
  const onStack = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) onStack.add(areaOf((byId.get(at) as ProfileNode).callFrame));
  for (const a of onStack) if (a.startsWith("pkg:") || a.startsWith("src/")) inclusive.set(a, (inclusive.get(a) ?? 0) + ms);
  const frames: ProfileNode["callFrame"][] = [];
  for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) frames.push((byId.get(at) as ProfileNode).callFrame);
  if (values.callers && node.callFrame.functionName === values.callers) {
    const caller = frames.find((f) => f.url.includes("node_modules/") || /\/src\//.test(f.url));
    const key = caller
      ? `${caller.functionName || "(anonymous)"} ${caller.url.replace(/^.*(node_modules|src)\//, "$1/")}:${caller.lineNumber + 1}`
      : "(no package frame)";
    callers.set(key, (callers.get(key) ?? 0) + ms);
  }
  for (const [category, test] of CATEGORIES) if (frames.some(test)) categories.set(category, (categories.get(category) ?? 0) + ms);
});

const line = (label: string, ms: number) =>
  `  ${label.padEnd(44)} ${ms.toFixed(0).padStart(7)} ms ${((ms / total) * 100).toFixed(1).padStart(5)} %${per ? `  ${(ms / per).toFixed(2).padStart(7)} ms/each` : ""}`;
const top = (map: Map<string, number>, n: number) => [...map].sort((a, b) => b[1] - a[1]).slice(0, n);

console.log(`busy main-thread time in the window: ${total.toFixed(0)} ms${per ? ` (${(total / per).toFixed(2)} ms per each of ${per})` : ""}`);
console.log("\nby category (inclusive, overlapping: socket writes of the pg driver count under SQL too):");
for (const [category] of CATEGORIES) console.log(line(category, categories.get(category) ?? 0));
console.log("\nself time by area:");
for (const [area, ms] of top(self, 25)) console.log(line(area, ms));
console.log("\ninclusive time by package / our directory (overlapping: a sample counts for every one on its stack):");
for (const [area, ms] of top(inclusive, 25)) console.log(line(area, ms));
console.log("\nself time, top functions:");
for (const [name, ms] of top(selfByFunction, 25)) console.log(line(name.slice(0, 44), ms));
if (values.callers) {
  console.log(`\nself time of ${values.callers}, by the nearest frame of a package or of src/:`);
  for (const [name, ms] of top(callers, 15)) console.log(line(name.slice(0, 44), ms));
}
