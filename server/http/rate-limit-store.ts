/**
 * A rate-limit store (express-rate-limit's `Store`) that counts in Redis while Redis answers and in the
 * process while it does not. Neither library has this: express-rate-limit's `passOnStoreError` serves
 * every request unlimited (and logs a stack for each), and rate-limit-redis waits on Redis as long as the
 * client does. So each call goes to the RedisStore while the connection is available (every command under
 * REDIS_TIMEOUT_MS, ./redis.ts); a failure or timeout reports a fault to the connection and the call, and
 * every call after it until a probe finds Redis answering, is counted by a MemoryStore of the process.
 *
 * Local counting is approximate: each instance counts alone (N instances let up to N times the limit
 * through), and the counts of either store are not carried over to the other when the state changes.
 */
import { MemoryStore } from "express-rate-limit";
import type { ClientRateLimitInfo, IncrementResponse, Options, Store } from "express-rate-limit";
import { RedisStore } from "rate-limit-redis";
import type { RedisConnection } from "./redis.js";

export class RedisOrLocalStore implements Store {
  /** Counts are shared by every instance while Redis answers (express-rate-limit's validations read it). */
  readonly localKeys = false;
  readonly prefix: string;
  readonly #redis: RedisStore;
  readonly #local = new MemoryStore();
  readonly #connection: RedisConnection;

  constructor(connection: RedisConnection, prefix: string) {
    this.#connection = connection;
    this.prefix = prefix;
    this.#redis = new RedisStore({ prefix, sendCommand: (...args: string[]) => connection.sendCommand(args) as Promise<number> });
  }

  init(options: Options): void {
    this.#local.init(options);
    // RedisStore.init loads its Lua scripts (SCRIPT LOAD), and a failed load would stay its answer for good
    // (it keeps the rejected promise): so it is loaded again each time Redis comes back, before Redis is
    // used again. Now too, when Redis answers already.
    this.#connection.whenAvailable(() => this.#redis.init(options));
    if (this.#connection.available) this.#redis.init(options).catch((error: unknown) => this.#connection.fault(error));
  }

  async #use<T>(operation: (store: Store) => Promise<T> | T): Promise<T> {
    if (this.#connection.available) {
      try {
        return await operation(this.#redis);
      } catch (error) {
        this.#connection.fault(error);
      }
    }
    return operation(this.#local);
  }

  increment(key: string): Promise<IncrementResponse> {
    return this.#use((store) => store.increment(key));
  }

  decrement(key: string): Promise<void> {
    return this.#use((store) => store.decrement(key));
  }

  resetKey(key: string): Promise<void> {
    return this.#use((store) => store.resetKey(key));
  }

  get(key: string): Promise<ClientRateLimitInfo | undefined> {
    return this.#use((store) => store.get?.(key));
  }
}
