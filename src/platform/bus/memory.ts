import { TopicHandlers, type Bus, type BusHandler, type BusLogger } from './bus.js';

/**
 * Messages that may wait for delivery. Reached only by a publisher that loops without ever
 * yielding; past it publish() says false, as the Redis bus does when it cannot send.
 */
const MAX_QUEUED = 100_000;

/**
 * The bus of embedded mode: one process, so "every node" is this one. Delivery is asynchronous,
 * as it is through Redis, so a handler that publishes does not recurse into itself and callers
 * cannot come to rely on a synchronous call that production never makes. Delivery runs on
 * setImmediate rather than a microtask: messages published by handlers wait for the next turn,
 * so two handlers that answer each other cannot starve I/O.
 */
export class MemoryBus implements Bus {
  readonly kind = 'memory';
  private readonly handlers: TopicHandlers;
  private queue: { topic: string; message: string }[] = [];
  private scheduled = false;
  private closed = false;

  constructor(options: { log: BusLogger }) {
    this.handlers = new TopicHandlers(options.log);
  }

  async publish(topic: string, message: string): Promise<boolean> {
    if (this.closed || this.queue.length >= MAX_QUEUED) return false;
    this.queue.push({ topic, message });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
    return true;
  }

  subscribe(topic: string, handler: BusHandler): () => void {
    if (this.closed) return () => undefined;
    const { remove } = this.handlers.add(topic, handler);
    return () => void remove();
  }

  state(): 'up' | 'down' {
    return 'up';
  }

  /** There is no outage to resume from: the listener is never called. */
  onResume(_listener: () => void): () => void {
    return () => undefined;
  }

  async close(): Promise<void> {
    // undelivered messages go: the realtime layer reads the database, not the bus, for history
    this.closed = true;
    this.queue = [];
    this.handlers.clear();
  }

  private drain(): void {
    this.scheduled = false;
    // only what was queued before this turn; what handlers publish now goes in the next one
    const batch = this.queue;
    this.queue = [];
    for (const { topic, message } of batch) {
      if (this.closed) return;
      this.handlers.deliver(topic, message);
    }
  }
}
