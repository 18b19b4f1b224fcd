// The only place that touches the platform's time sources; everything else takes a Clock.
import { performance } from "node:perf_hooks";

export const monotonicNowMs = (): number => performance.now();
export const wallNowMs = (): number => Date.now();
export const realSetTimeout = (fn: () => void, ms: number): NodeJS.Timeout => setTimeout(fn, ms);
export const realClearTimeout = (h: NodeJS.Timeout | undefined): void => {
  if (h) clearTimeout(h);
};
