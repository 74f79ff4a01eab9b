/** A clock that runs with real time, moved forward on demand (to pass a delay without waiting). */
export function movableClock() {
  let offsetMs = 0;
  return {
    now: () => new Date(Date.now() + offsetMs),
    move(seconds: number) {
      offsetMs += seconds * 1000;
    },
  };
}
