import { describe, expect, it } from "vitest";
import { createClientCache } from "../../src/clients/client-cache.js";

describe("client cache", () => {
  const metadata = { client_id: "c1", client_secret: "old-hash" };

  it("forgets a client at once, and drops a lookup that overlapped the forget", () => {
    const cache = createClientCache({ cacheSeconds: 10 });
    cache.keep("c1", metadata, cache.generation);
    expect(cache.get("c1")?.metadata).toEqual(metadata);
    const since = cache.generation;
    cache.forget("c1");
    expect(cache.get("c1")).toBeNull();
    cache.keep("c1", metadata, since);
    expect(cache.get("c1")).toBeNull();
  });

  it("keeps nothing while disabled (changes elsewhere could go unheard)", () => {
    const cache = createClientCache({ cacheSeconds: 10 });
    cache.setEnabled(false);
    cache.keep("c1", metadata, cache.generation);
    expect(cache.get("c1")).toBeNull();
  });

  it("caches unknown ids as undefined until they expire", () => {
    let now = 0;
    const cache = createClientCache({ cacheSeconds: 10, now: () => now });
    cache.keep("nobody", undefined, cache.generation);
    expect(cache.get("nobody")).toEqual(expect.objectContaining({ metadata: undefined }));
    now = 10_000;
    expect(cache.get("nobody")).toBeNull();
  });
});
