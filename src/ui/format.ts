// How the studio writes durations ("time left" of training and of a video render).

/** Seconds as "42 s", or "3 min 5 s" from a minute and a half. */
export function formatSeconds(s: number): string {
  if (s < 90) return `${Math.round(s)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}
