// A hold's two streams, whatever carries them (a WebSocket in ws.ts, an event stream in sse.ts): how a stream
// ended, and what the silent stream and its keep-alive twin share so that a hold ends as soon as it has shown
// what it can. The judgement of a hold (idle or lifetime, the culprit, the fix) is checks/_lib/hold.ts's.

export type StreamEnd =
  | { how: 'survived' }
  | { how: 'close'; code: number; reason: string; fin: boolean }
  | { how: 'http'; status: number }
  | { how: 'reset' | 'eof' | 'error' | 'timeout'; detail: string };

/** The keep-alive twin's cadence: often enough that it survives any idle timeout the silent stream can reveal. */
export const TWIN_BEAT_MS = 500;
/** How long the twin must still carry data past the silent stream's cut age before it is stopped as a survivor. */
export const OUTLIVE_MS = 2000;

/**
 * What a silent stream and its keep-alive twin share, so a hold ends as soon as it has shown what it can: once the
 * silent stream is cut, the twin runs only until it has carried data OUTLIVE_MS past that age (idle, not lifetime).
 */
export interface HoldPair {
  /** ms of age at which the silent stream ended without surviving (0 if it never opened). */
  silentCutAgeMs?: number;
}

/** Called by the silent stream when it ends: a survivor leaves the twin to finish its hold. */
export function reportSilentEnd(
  pair: HoldPair | undefined,
  end: StreamEnd,
  openedAt: number | undefined,
  endedAt: number,
): void {
  if (pair && end.how !== 'survived') pair.silentCutAgeMs = openedAt === undefined ? 0 : endedAt - openedAt;
}

/** Whether the twin, alive at this age, has outlived the silent stream's cut by enough to stop. */
export const twinHasOutlived = (pair: HoldPair | undefined, ageMs: number) =>
  pair?.silentCutAgeMs !== undefined && ageMs >= pair.silentCutAgeMs + OUTLIVE_MS;
