type TypedArrayCtor<T> = { new (length: number): T };

/** An append-only typed array that doubles its storage; `view()` is a copy-free prefix view. */
export class Growable<T extends Int32Array | Float32Array | Float64Array | Uint8Array> {
  private data: T;
  length = 0;

  constructor(
    private readonly ctor: TypedArrayCtor<T>,
    capacity = 1024,
  ) {
    this.data = new ctor(Math.max(16, capacity));
  }

  push(value: number): void {
    if (this.length === this.data.length) this.grow(this.length + 1);
    this.data[this.length++] = value;
  }

  /** Sets index i (growing and zero-filling as needed). */
  set(i: number, value: number): void {
    if (i >= this.data.length) this.grow(i + 1);
    this.data[i] = value;
    if (i >= this.length) this.length = i + 1;
  }

  get(i: number): number {
    return i < this.length ? this.data[i]! : 0;
  }

  view(): T {
    return this.data.subarray(0, this.length) as T;
  }

  private grow(min: number): void {
    let capacity = this.data.length * 2;
    while (capacity < min) capacity *= 2;
    const next = new this.ctor(capacity);
    next.set(this.data);
    this.data = next;
  }
}
