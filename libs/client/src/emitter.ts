/** A tiny typed event emitter (no Node or DOM dependency). `on` returns the function that removes the listener. */
export class Emitter<Events extends { [K in keyof Events]: (...args: never[]) => void }> {
  private readonly listeners = new Map<keyof Events, Set<Events[keyof Events]>>();

  on<K extends keyof Events>(event: K, listener: Events[K]): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => this.off(event, listener);
  }

  once<K extends keyof Events>(event: K, listener: Events[K]): () => void {
    const off = this.on(event, ((...args: Parameters<Events[K]>) => {
      off();
      (listener as (...a: Parameters<Events[K]>) => void)(...args);
    }) as Events[K]);
    return off;
  }

  off<K extends keyof Events>(event: K, listener: Events[K]): void {
    this.listeners.get(event)?.delete(listener);
  }

  /** Calls every listener; one that throws does not keep the others (or the SDK) from running. */
  protected emit<K extends keyof Events>(event: K, ...args: Parameters<Events[K]>): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        (listener as (...a: Parameters<Events[K]>) => void)(...args);
      } catch (err) {
        setTimeout(() => {
          throw err; // reported like any uncaught error, after the SDK's own work is done
        });
      }
    }
  }
}
