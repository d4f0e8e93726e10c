import { Inject, Injectable } from '@nestjs/common';
import { hash, verify } from '@node-rs/argon2';
import { Errors } from '../common/domain.error.js';
import { CHATS_CONFIG, type ChatsConfig } from '../config/chats.config.js';

// OWASP's argon2id baseline (19 MiB, 2 passes). Hashing runs on libuv's thread pool, off the event loop.
// algorithm 2 is Argon2id (the package's const enum cannot be imported under isolatedModules).
const OPTIONS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/**
 * Password hashing with admission control: at most PASSWORD_HASH_CONCURRENCY hashes at once per instance and
 * PASSWORD_HASH_QUEUE waiting; beyond, `Service busy` at once. A flood of logins (each hash is ~20 MiB and tens of
 * milliseconds of a core) then costs a bounded share of the instance instead of starving everything else.
 */
@Injectable()
export class PasswordHasher {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private dummyHash?: Promise<string>;

  constructor(@Inject(CHATS_CONFIG) private readonly config: ChatsConfig) {}

  hash(password: string): Promise<string> {
    return this.slot(() => hash(password, OPTIONS));
  }

  /** False for a wrong password or a hash that cannot be read. */
  verify(passwordHash: string, password: string): Promise<boolean> {
    return this.slot(() => verify(passwordHash, password).catch(() => false));
  }

  /**
   * Verifies against a throwaway hash, so that a login for an unknown username costs as much as a wrong password
   * and response times do not tell which usernames exist.
   */
  async burn(password: string): Promise<void> {
    this.dummyHash ??= hash('parley-dummy-password', OPTIONS);
    await this.verify(await this.dummyHash, password);
  }

  private async slot<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.config.passwordHashConcurrency) {
      if (this.waiting.length >= this.config.passwordHashQueue) throw Errors.serviceBusy();
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await work();
    } finally {
      // Hand the slot straight to the next waiter (running stays the same), or give it back.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
