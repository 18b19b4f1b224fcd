// Call quality as a listener would rate it: the ITU-T G.107 E-model reduced to what a phone can measure (mouth-to-ear
// delay and packet loss), with the G.113 Appendix I values for G.711 with packet-loss concealment (Ie = 0,
// Bpl = 25.1), and its R -> MOS mapping (G.107 Annex B). The rest of the model keeps its default values (Ro - Is = 93.2).

export interface QualityInputs {
  /** Mouth-to-ear delay, one way (ms): network (RTT/2), jitter buffer, packetisation. */
  oneWayDelayMs: number;
  /** Packets lost, in percent (0-100). */
  lossPercent: number;
  /** The codec's equipment impairment (G.711: 0). */
  ie?: number;
  /** The codec's packet-loss robustness (G.711 with PLC: 25.1; without: 4.3). */
  bpl?: number;
}

export function rFactor(q: QualityInputs): number {
  const d = Math.max(0, q.oneWayDelayMs);
  const id = 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0);
  const ie = q.ie ?? 0;
  const ppl = Math.max(0, Math.min(100, q.lossPercent));
  const ieEff = ie + (95 - ie) * (ppl / (ppl + (q.bpl ?? 25.1)));
  return 93.2 - id - ieEff;
}

export function mosFromR(r: number): number {
  if (r <= 0) return 1;
  if (r >= 100) return 4.5;
  return 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6;
}
