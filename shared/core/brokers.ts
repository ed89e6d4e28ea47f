// The broker nodes a client may use: the one it was pointed at, then every node the
// cluster lists in its welcome. A connection that cannot be opened moves on to the
// next node, so a client whose node dies resumes through another one.

export class BrokerList {
  private urls: string[];
  private at = 0;

  constructor(first: string) {
    this.urls = [first];
  }

  /** Where the next connection goes. */
  get current(): string {
    return this.urls[this.at % this.urls.length]!;
  }

  get size(): number {
    return this.urls.length;
  }

  /** Takes a node's list of live brokers; the one in use stays in use. */
  update(brokers: readonly string[]): void {
    if (brokers.length === 0) return;
    const current = this.current;
    const merged = [...new Set([current, ...brokers])];
    this.urls = merged;
    this.at = 0;
  }

  /** The current broker could not be reached: use the next one. */
  next(): string {
    this.at = (this.at + 1) % this.urls.length;
    return this.current;
  }
}
