/**
 * Which data-channel counters of one session were already used: the highest seen, and a bitmap of the
 * `size` counters below it. A counter seen before, or too far below the highest to tell, is a replay.
 * Counters may arrive a little out of order (dials race), never by more than the window.
 */
export interface ReplayWindow {
  /** true the first time `counter` is seen; false for a replay */
  readonly admit: (counter: number) => boolean
}

export const make = (size = 4096): ReplayWindow => {
  const bits = new Uint32Array(Math.ceil(size / 32))
  let highest = 0
  const index = (n: number) => n % size
  const get = (n: number) => (bits[index(n) >>> 5]! & (1 << (index(n) & 31))) !== 0
  const set = (n: number, on: boolean) => {
    const i = index(n)
    if (on) bits[i >>> 5]! |= 1 << (i & 31)
    else bits[i >>> 5]! &= ~(1 << (i & 31))
  }
  return {
    admit: (counter) => {
      if (counter <= 0 || !Number.isSafeInteger(counter)) return false
      if (counter > highest) {
        if (counter - highest >= size) bits.fill(0)
        else for (let n = highest + 1; n < counter; n++) set(n, false)
        highest = counter
        set(counter, true)
        return true
      }
      if (counter <= highest - size || get(counter)) return false
      set(counter, true)
      return true
    }
  }
}
