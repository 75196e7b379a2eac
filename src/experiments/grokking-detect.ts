/**
 * The readings of the grokking experiment, as pure functions of recorded figures (no tfjs, no
 * file system): the OMD onset detector, the jump step of a test-accuracy curve, and the Fourier
 * fingerprint of a token embedding.
 *
 * The detector was fixed before any grokking run was looked at, from the OMD reading of a phase
 * transition alone ("a band forms and holds", {@link OmdTrajectory.regimes}), with the regime
 * thresholds written out here so that it stays the same detector if the library defaults move:
 * on the OMD trajectory of the hidden layer over the held set, a window of at least
 * {@link GROKKING_DETECTOR}.minWindow consecutive snapshots whose band is clear
 * (|λ_m̂|/|λ_m̂+1| ≥ minGapRatio), of one size m̂, with band-eigenvector overlap ≥ minOverlap from
 * snapshot to snapshot, after a stretch without that band. The *onset* is the first snapshot of the
 * first such window; the *alarm* is its minWindow-th snapshot, the first step at which a monitor
 * watching online could have fired. Test accuracy plays no part in it.
 */
import { analyzeObservable } from '../omd/index.js';
import type { Fingerprint, RegimeOptions, RegimeReport } from '../omd/index.js';

/** The pre-registered detector's thresholds (regimes() options; see the module doc). */
export const GROKKING_DETECTOR: Required<RegimeOptions> & { layer: string } = Object.freeze({
  layer: 'hidden',
  minOverlap: 0.8,
  minGapRatio: 1.5,
  minWindow: 3,
});

/** What the detector read on one trajectory. */
export interface OmdDetection {
  /** First snapshot of the first band that forms and holds; null if none. */
  onsetStep: number | null;
  /** The step at which an online monitor could fire (the minWindow-th snapshot of that window); null if none. */
  alarmStep: number | null;
  /** Band size m̂ and fingerprint of the detected window (0 / null without a detection). */
  bandSize: number;
  fingerprint: Fingerprint | null;
  /** The regime verdict of the whole trajectory. */
  verdict: RegimeReport['verdict'];
}

/**
 * Applies the detector to a regime report and the steps of its trajectory's points (in order).
 * @throws RangeError when a transition points past the given steps.
 */
export function detectOnset(report: RegimeReport, steps: readonly number[], minWindow: number): OmdDetection {
  const t = report.transitions[0];
  if (!t) return { onsetStep: null, alarmStep: null, bandSize: 0, fingerprint: null, verdict: report.verdict };
  const alarm = steps[t.index + minWindow - 1];
  if (alarm === undefined)
    throw new RangeError(
      `Expected at least ${t.index + minWindow} trajectory steps for steps but received ${steps.length}`,
    );
  return {
    onsetStep: t.step,
    alarmStep: alarm,
    bandSize: t.bandSize,
    fingerprint: t.fingerprint,
    verdict: report.verdict,
  };
}

/** An exploratory reading: where the OMD effective dimension of a layer starts to fall. */
export interface ParticipationDecline {
  /** Step of the largest participation ratio (step 0 excluded); null for fewer than two snapshots. */
  peakStep: number | null;
  peakValue: number;
  /** First step after the peak with participation ratio < fraction · peak; null if none. */
  declineStep: number | null;
}

/**
 * Exploratory, not pre-registered (defined after reading the first grokking runs, see
 * docs/experiments.md): the step at which the participation ratio (Σ|λ|)²/Σλ² of the non-Perron
 * spectrum first falls below `fraction` of its running-maximum peak. Rows in step order, step 0
 * (the initialisation) skipped.
 */
export function participationDecline(
  rows: readonly { step: number; participation_ratio: number }[],
  fraction = 0.95,
): ParticipationDecline {
  const body = rows.filter((r) => r.step > 0 && Number.isFinite(r.participation_ratio));
  if (body.length < 2) return { peakStep: null, peakValue: NaN, declineStep: null };
  let peak = body[0]!;
  for (const r of body) if (r.participation_ratio > peak.participation_ratio) peak = r;
  const decline = body.find((r) => r.step > peak.step && r.participation_ratio < fraction * peak.participation_ratio);
  return { peakStep: peak.step, peakValue: peak.participation_ratio, declineStep: decline?.step ?? null };
}

/** First step whose value is ≥ threshold (curve in step order); null if none. */
export function firstStepAtLeast(curve: readonly { step: number; value: number }[], threshold: number): number | null {
  for (const c of curve) if (c.value >= threshold) return c.step;
  return null;
}

/** The Fourier fingerprint of a token embedding (rows = tokens 0..p−1 in order). */
export interface FourierFingerprint {
  /**
   * Share of the embedding's non-constant power at each frequency k = 1..⌊p/2⌋ (index k − 1):
   * P_k = Σ_j |Σ_a E[a, j] e^{−2πi k a/p}|², with k and p − k combined; sums to 1.
   */
  power: Float64Array;
  /** The frequencies in order of decreasing power. */
  ranked: number[];
  /** Share of the power in the 5 strongest frequencies (a random embedding: ≈ 5/⌊p/2⌋ plus fluctuation). */
  top5Share: number;
  /** Participation ratio 1/Σ q_k² of the power shares: the effective number of frequencies used. */
  effectiveFrequencies: number;
}

/** Discrete Fourier power of the columns of E (p x d, row-major) over the token index. */
export function fourierFingerprint(e: Float64Array, p: number, d: number): FourierFingerprint {
  if (e.length !== p * d) throw new RangeError(`Expected ${p * d} entries (p x d) for e but received ${e.length}`);
  const half = Math.floor(p / 2);
  const power = new Float64Array(half);
  for (let k = 1; k <= half; k++) {
    let s = 0;
    for (let j = 0; j < d; j++) {
      let re = 0;
      let im = 0;
      for (let a = 0; a < p; a++) {
        const ang = (2 * Math.PI * k * a) / p;
        re += e[a * d + j]! * Math.cos(ang);
        im -= e[a * d + j]! * Math.sin(ang);
      }
      s += re * re + im * im;
    }
    // k and p − k carry the same power for real columns; count both (once when k = p/2).
    power[k - 1] = 2 * k === p ? s : 2 * s;
  }
  const total = power.reduce((x, y) => x + y, 0);
  for (let k = 0; k < half; k++) power[k] = total > 0 ? power[k]! / total : 0;
  const ranked = Array.from({ length: half }, (_, i) => i + 1).sort((x, y) => power[y - 1]! - power[x - 1]!);
  const top5Share = ranked.slice(0, 5).reduce((s, k) => s + power[k - 1]!, 0);
  const sq = power.reduce((s, q) => s + q * q, 0);
  return { power, ranked, top5Share, effectiveFrequencies: sq > 0 ? 1 / sq : NaN };
}

/** OMD of the token embedding itself (probes = the p tokens in order) and how circulant its M is. */
export interface EmbeddingOmd {
  bandSize: number;
  candidateSize: number;
  gapRatio: number;
  fingerprint: Fingerprint;
  /** Largest relative splitting within the band's pairs (NaN for an odd band). */
  doubletSplit: number;
  /**
   * ‖M − C(M)‖_F/‖M‖_F, C(M) the circulant average of M along its wrapped diagonals
   * (C_ij = mean of M_kl over (l − k) mod p = (j − i) mod p): 0 for an exactly circulant M.
   */
  circulantDeviation: number;
}

/** Reads the token embedding E (p x d) with analyzeObservable (angular metric) and measures how circulant M is. */
export async function embeddingOmd(e: Float64Array, p: number, d: number): Promise<EmbeddingOmd> {
  const s = await analyzeObservable({ data: e, rows: p, cols: d }, { metric: 'angular', input: 'reps' });
  const m = s.matrix.data;
  const diag = new Float64Array(p);
  for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) diag[(j - i + p) % p]! += m[i * p + j]! / p;
  let num = 0;
  let den = 0;
  for (let i = 0; i < p; i++)
    for (let j = 0; j < p; j++) {
      const v = m[i * p + j]!;
      num += (v - diag[(j - i + p) % p]!) ** 2;
      den += v * v;
    }
  return {
    bandSize: s.band.size,
    candidateSize: s.band.candidateSize,
    gapRatio: s.band.gapRatio,
    fingerprint: s.band.fingerprint,
    doubletSplit: s.band.doubletSplit,
    circulantDeviation: den > 0 ? Math.sqrt(num / den) : 0,
  };
}
