import type { SqlDriverAdapter, SqlDriverAdapterFactory, SqlQuery, Transaction } from "@prisma/driver-adapter-utils";
import type { HotDriver } from "./open-database.js";

/** Receives the text of every statement sent to the database, as it is sent (BEGIN and COMMIT included). */
export type StatementListener = (sql: string) => void;

/**
 * Every statement this process sends, through Prisma or the hot path: counted for `/metrics`
 * (statements per request is the database's load) and heard by the tests that bound them.
 */
export class StatementObserver {
  #count = 0;
  readonly #listeners = new Set<StatementListener>();

  get count(): number {
    return this.#count;
  }

  /** Calls `listener` for each statement from now on; returns what stops it. */
  listen(listener: StatementListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  sent(sql: string): void {
    this.#count += 1;
    for (const listener of this.#listeners) listener(sql);
  }

  /** Prisma's factory, every connection and transaction it opens reporting here. */
  observeFactory<F extends SqlDriverAdapterFactory>(factory: F): F {
    return forwarding(factory, { connect: async () => this.#observeQueryable(await factory.connect()) });
  }

  observeHot(hot: HotDriver): HotDriver {
    return {
      notifies: hot.notifies,
      query: (name, text, values) => {
        this.sent(text);
        return hot.query(name, text, values);
      },
    };
  }

  #observeQueryable<Q extends SqlDriverAdapter | Transaction>(queryable: Q): Q {
    const overrides: Record<string, unknown> = {
      queryRaw: (query: SqlQuery) => {
        this.sent(query.sql);
        return queryable.queryRaw(query);
      },
      executeRaw: (query: SqlQuery) => {
        this.sent(query.sql);
        return queryable.executeRaw(query);
      },
    };
    if ("startTransaction" in queryable) {
      // Both adapters send BEGIN themselves, on the connection they are about to hand out.
      overrides.startTransaction = async (...args: Parameters<SqlDriverAdapter["startTransaction"]>) => {
        this.sent("BEGIN");
        return this.#observeQueryable(await queryable.startTransaction(...args));
      };
    } else if (queryable.options.usePhantomQuery) {
      // PGlite's adapter ends a transaction in PGlite itself; PostgreSQL's gets COMMIT through executeRaw.
      overrides.commit = () => {
        this.sent("COMMIT");
        return queryable.commit();
      };
      overrides.rollback = () => {
        this.sent("ROLLBACK");
        return queryable.rollback();
      };
    }
    return forwarding(queryable, overrides);
  }
}

// The adapters are classes whose methods use `this`: everything not overridden is called on the original.
function forwarding<T extends object>(target: T, overrides: Record<string, unknown>): T {
  return new Proxy(target, {
    get(object, property) {
      if (typeof property === "string" && property in overrides) return overrides[property];
      const value = Reflect.get(object, property, object);
      return typeof value === "function" ? value.bind(object) : value;
    },
  });
}
