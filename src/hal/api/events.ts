// A tiny typed listener list: the callback style every HAL device uses (no EventEmitter string keys).

export type Unsubscribe = () => void;

export class Listeners<T> {
  private readonly fns = new Set<(v: T) => void>();

  add(fn: (v: T) => void): Unsubscribe {
    this.fns.add(fn);
    return () => this.fns.delete(fn);
  }

  emit(v: T): void {
    for (const fn of [...this.fns]) fn(v);
  }

  get size(): number {
    return this.fns.size;
  }

  clear(): void {
    this.fns.clear();
  }
}
