/**
 * `specdyn experiment grokking`: does OMD see grokking coming? Modular addition (a + b) mod p
 * learned by an MLP over token embeddings with full-batch AdamW (grokking-train.ts), over several
 * seeds, against matched control runs that do not grok (no weight decay; a train fraction too
 * small). For every run: the jump step (first evaluated step with test accuracy ≥ jumpThreshold),
 * the OMD alarm step of the pre-registered detector on the hidden layer (grokking-detect.ts; it
 * reads OMD figures only), the lead = jump − alarm, and the Fourier fingerprint of the token
 * embedding at the end. The detector's false-alarm rate is the share of control runs that did not
 * grok in which it fired at all. Beside it, one exploratory reading that was defined after the
 * first runs were read, and is labelled so everywhere: the step at which the hidden layer's OMD
 * participation ratio falls 5 % below its peak (participationDecline), with its lead and its
 * firings in the controls.
 *
 * Run directory: the first grokking seed is the run in `out` itself (written by the
 * SpectralMonitor: OMD of the held set at `embed` and `hidden`, weight spectra of every kernel,
 * losses and accuracies; then its report.html); every other run is a run directory under
 * `out/runs/<condition>-seed<k>`; the measurements of all runs are added to `out`'s run.json as
 * `meta.grokking` by a second store session.
 */
import { join } from 'node:path';
import { SpecdynError } from '../errors.js';
import { ParamError, type Experiment, type ExperimentContext, type ExperimentResult, type Params } from './types.js';
import {
  detectOnset,
  embeddingOmd,
  fourierFingerprint,
  GROKKING_DETECTOR,
  participationDecline,
  type OmdDetection,
  type ParticipationDecline,
} from './grokking-detect.js';
import type { GrokkingRunResult } from './grokking-train.js';

const BACKENDS = ['auto', 'tfjs-node', 'specdyn-native', 'wasm', 'cpu'] as const;

/** One condition of the experiment: the grokking runs or a control. */
interface Condition {
  name: 'grok' | 'no-decay' | 'small-fraction';
  trainFraction: number;
  weightDecay: number;
  seeds: number[];
}

/** The measurements of one run, as recorded in `meta.grokking.runs`. */
export interface GrokkingRunRecord {
  condition: Condition['name'];
  seed: number;
  trainFraction: number;
  weightDecay: number;
  /** Run directory relative to the experiment's `out` ('' for the run in `out` itself). */
  dir: string;
  lastStep: number;
  memorizeStep: number | null;
  jumpStep: number | null;
  finalTestAcc: number;
  /** Detector on the hidden layer (the pre-registered one) and, for comparison, on the embedding layer. */
  hidden: OmdDetection;
  embed: OmdDetection;
  /** Exploratory (post hoc): where the hidden layer's OMD participation ratio falls 5 % below its peak. */
  declineHidden: ParticipationDecline;
  /** jumpStep − declineHidden.declineStep; null when either is missing. */
  declineLead: number | null;
  /** jumpStep − hidden.alarmStep (positive: OMD first); null when either is missing. */
  lead: number | null;
  /** jumpStep − hidden.onsetStep. */
  onsetLead: number | null;
  fourierTop5Init: number;
  fourierTop5Final: number;
  effectiveFrequenciesFinal: number;
  keyFrequencies: number[];
  tokenOmd: Awaited<ReturnType<typeof embeddingOmd>>;
  msPerStep: number;
}

const median = (xs: number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

/** The grokking experiment (see the module doc). */
export const grokkingExperiment: Experiment = {
  name: 'grokking',
  description:
    'Modular addition (a+b mod p) with AdamW: grokking jump vs the OMD alarm over seeds, false alarms on non-grokking controls',
  params: [
    { key: 'p', kind: 'int', default: 97, min: 5, max: 211, doc: 'Modulus p (tokens 0..p−1; p² pairs)' },
    {
      key: 'trainFraction',
      kind: 'number',
      default: 0.4,
      min: 0.01,
      max: 0.95,
      doc: 'Fraction of the p² pairs in the train set of the grokking runs (the rest is the test set)',
    },
    {
      key: 'weightDecay',
      kind: 'number',
      default: 1,
      min: 0,
      max: 100,
      doc: 'AdamW decoupled weight decay λ of the grokking runs (per unit learning rate)',
    },
    { key: 'lr', kind: 'number', default: 0.01, min: 1e-6, max: 1, doc: 'AdamW learning rate η' },
    {
      key: 'steps',
      kind: 'int',
      default: 2000,
      min: 1,
      max: 1_000_000,
      doc: 'Step budget of every run (full-batch updates)',
    },
    { key: 'embedDim', kind: 'int', default: 64, min: 2, max: 1024, doc: 'Token embedding dimension d' },
    { key: 'hidden', kind: 'int', default: 128, min: 2, max: 4096, doc: 'Hidden ReLU units' },
    { key: 'seeds', kind: 'int', default: 5, min: 1, max: 50, doc: 'Number of grokking seeds (seed, seed+1, …)' },
    { key: 'seed', kind: 'int', default: 0, min: 0, max: 1_000_000, doc: 'First seed' },
    {
      key: 'controlSeeds',
      kind: 'int',
      default: 2,
      min: 0,
      max: 50,
      doc: 'Seeds of each control (no weight decay; small train fraction); 0: no controls',
    },
    {
      key: 'controlFraction',
      kind: 'number',
      default: 0.2,
      min: 0.01,
      max: 0.95,
      doc: 'Train fraction of the small-fraction control (same weight decay as the grokking runs)',
    },
    {
      key: 'snapshotEvery',
      kind: 'int',
      default: 50,
      min: 1,
      max: 100_000,
      doc: 'Steps between OMD snapshots (and evaluations)',
    },
    { key: 'probes', kind: 'int', default: 200, min: 8, max: 4000, doc: 'Held set size N: test pairs the OMD reads' },
    {
      key: 'jumpThreshold',
      kind: 'number',
      default: 0.9,
      min: 0.05,
      max: 1,
      doc: 'Test accuracy that defines the jump (first evaluated step at or above it)',
    },
    {
      key: 'afterJump',
      kind: 'int',
      default: 300,
      min: 0,
      max: 1_000_000,
      doc: 'Steps a run trains past its jump before stopping early',
    },
    { key: 'backend', kind: 'string', default: 'auto', choices: BACKENDS, doc: 'TensorFlow.js backend (loadTf)' },
  ],
  quick: {
    p: 31,
    trainFraction: 0.6,
    steps: 1000,
    seeds: 1,
    controlSeeds: 1,
    snapshotEvery: 25,
    probes: 128,
    afterJump: 100,
  },
  run: runGrokking,
};

function checkCombination(params: Params): void {
  const p = params.p as number;
  const probes = params.probes as number;
  for (const [key, f] of [
    ['trainFraction', params.trainFraction as number],
    ['controlFraction', params.controlFraction as number],
  ] as const) {
    if (key === 'controlFraction' && (params.controlSeeds as number) === 0) continue;
    const nTrain = Math.round(f * p * p);
    if (nTrain < 1 || p * p - nTrain < probes)
      throw new ParamError(
        `Expected a ${key} leaving at least ${probes} test pairs (probes) and one train pair of the ${p * p} pairs for grokking.${key} but received ${f} (${nTrain} train pairs)`,
      );
  }
}

async function runGrokking(params: Params, ctx: ExperimentContext): Promise<ExperimentResult> {
  checkCombination(params);
  const { loadTf } = await import('../tfjs/index.js');
  const { splitPairs, trainGrokkingRun } = await import('./grokking-train.js');
  const { createRun, openRun } = await import('../store/index.js');
  const backendChoice = params.backend as (typeof BACKENDS)[number];
  const loaded = await loadTf(backendChoice === 'auto' ? {} : { backend: backendChoice });
  const { tf } = loaded;
  ctx.log(`tfjs backend: ${loaded.backend} (${loaded.reason})`);
  const p = params.p as number;
  const first = params.seed as number;
  const range = (n: number): number[] => Array.from({ length: n }, (_, i) => first + i);
  const conditions: Condition[] = [
    {
      name: 'grok',
      trainFraction: params.trainFraction as number,
      weightDecay: params.weightDecay as number,
      seeds: range(params.seeds as number),
    },
  ];
  if ((params.controlSeeds as number) > 0) {
    const seeds = range(params.controlSeeds as number);
    conditions.push({ name: 'no-decay', trainFraction: params.trainFraction as number, weightDecay: 0, seeds });
    conditions.push({
      name: 'small-fraction',
      trainFraction: params.controlFraction as number,
      weightDecay: params.weightDecay as number,
      seeds,
    });
  }
  const steps = params.steps as number;
  const totalRuns = conditions.reduce((s, c) => s + c.seeds.length, 0);
  const total = totalRuns * steps;
  let done = 0;
  const records: GrokkingRunRecord[] = [];
  for (const cond of conditions) {
    for (const seed of cond.seeds) {
      const primary = records.length === 0;
      const rel = primary ? '' : join('runs', `${cond.name}-seed${seed}`);
      const dir = primary ? ctx.out : join(ctx.out, rel);
      const label = `${cond.name} seed ${seed}`;
      ctx.log(`${label}: trainFraction ${cond.trainFraction}, weightDecay ${cond.weightDecay}, ${steps} steps`);
      const split = splitPairs(p, cond.trainFraction, params.probes as number, seed);
      const base = done;
      const r: GrokkingRunResult = await trainGrokkingRun({
        tf,
        split,
        embedDim: params.embedDim as number,
        hidden: params.hidden as number,
        lr: params.lr as number,
        weightDecay: cond.weightDecay,
        steps,
        snapshotEvery: params.snapshotEvery as number,
        jumpThreshold: params.jumpThreshold as number,
        afterJump: params.afterJump as number,
        seed,
        run: dir,
        config: {
          experiment: 'grokking',
          params,
          condition: cond.name,
          seed,
          trainFraction: cond.trainFraction,
          weightDecay: cond.weightDecay,
        },
        meta: { experiment: 'grokking', condition: cond.name, backend: loaded.backend, detector: GROKKING_DETECTOR },
        signal: ctx.signal,
        onEval: (step) => ctx.progress(base + step, total, label),
      });
      done += steps;
      ctx.progress(done, total, label);
      const run = await openRun(dir);
      const detect = (layer: string): OmdDetection => {
        const traj = run.trajectory(layer);
        const { layer: _l, ...opts } = GROKKING_DETECTOR;
        return detectOnset(
          traj.regimes(opts),
          traj.points.map((q) => q.step),
          opts.minWindow,
        );
      };
      const hidden = detect(GROKKING_DETECTOR.layer);
      const declineHidden = participationDecline(
        run
          .rows({ family: 'omd', observable: GROKKING_DETECTOR.layer })
          .map((q) => ({ step: q.step, participation_ratio: q.participation_ratio as number })),
      );
      const embed = detect('embed');
      const d = params.embedDim as number;
      const fInit = fourierFingerprint(r.embedInit, p, d);
      const fFinal = fourierFingerprint(r.embedFinal, p, d);
      const rec: GrokkingRunRecord = {
        condition: cond.name,
        seed,
        trainFraction: cond.trainFraction,
        weightDecay: cond.weightDecay,
        dir: rel,
        lastStep: r.lastStep,
        memorizeStep: r.memorizeStep,
        jumpStep: r.jumpStep,
        finalTestAcc: round(r.curve[r.curve.length - 1]!.testAcc, 4),
        hidden,
        embed,
        declineHidden,
        declineLead:
          r.jumpStep !== null && declineHidden.declineStep !== null ? r.jumpStep - declineHidden.declineStep : null,
        lead: r.jumpStep !== null && hidden.alarmStep !== null ? r.jumpStep - hidden.alarmStep : null,
        onsetLead: r.jumpStep !== null && hidden.onsetStep !== null ? r.jumpStep - hidden.onsetStep : null,
        fourierTop5Init: round(fInit.top5Share),
        fourierTop5Final: round(fFinal.top5Share),
        effectiveFrequenciesFinal: round(fFinal.effectiveFrequencies, 2),
        keyFrequencies: fFinal.ranked.slice(0, 5),
        tokenOmd: await embeddingOmd(r.embedFinal, p, d),
        msPerStep: round(r.msPerStep, 1),
      };
      records.push(rec);
      ctx.log(
        `${label}: jump ${rec.jumpStep ?? 'none'} (final test acc ${rec.finalTestAcc}), OMD alarm ${hidden.alarmStep ?? 'none'} (onset ${hidden.onsetStep ?? 'none'}, band ${hidden.bandSize}, ${hidden.fingerprint ?? '-'}), lead ${rec.lead ?? '-'}; top-5 Fourier share ${rec.fourierTop5Init} → ${rec.fourierTop5Final}`,
      );
    }
  }
  const summary = summarise(records, loaded.backend, params);
  // The measurements join the primary run's run.json (a second store session, no snapshots).
  const writer = await createRun(ctx.out, { meta: { grokking: { ...summary.figures, runs: records } } });
  await writer.close({ status: 'finished' });
  let report: string | undefined;
  try {
    const { writeReport } = await import('../report/index.js');
    const { fromRun } = await import('../report/from-store.js');
    report = (await writeReport([fromRun(await openRun(ctx.out), 'grokking')])).html;
  } catch (err) {
    if (!(err instanceof SpecdynError)) throw err;
    ctx.log(`report not written: ${err.message}`);
  }
  return { dir: ctx.out, ...(report ? { report } : {}), figures: summary.figures, summary: summary.lines };
}

function summarise(
  records: GrokkingRunRecord[],
  backend: string,
  params: Params,
): { figures: ExperimentResult['figures']; lines: string[] } {
  const grok = records.filter((r) => r.condition === 'grok');
  const grokked = grok.filter((r) => r.jumpStep !== null);
  const jumps = grokked.map((r) => r.jumpStep!);
  const alarms = grokked.filter((r) => r.hidden.alarmStep !== null).map((r) => r.hidden.alarmStep!);
  const leads = grokked.filter((r) => r.lead !== null).map((r) => r.lead!);
  const onsetLeads = grokked.filter((r) => r.onsetLead !== null).map((r) => r.onsetLead!);
  const before = grokked.filter((r) => r.lead !== null && r.lead > 0).length;
  const controls = records.filter((r) => r.condition !== 'grok');
  const quiet = controls.filter((r) => r.jumpStep === null);
  const fired = quiet.filter((r) => r.hidden.alarmStep !== null);
  const declineLeads = grokked.filter((r) => r.declineLead !== null).map((r) => r.declineLead!);
  const declineFired = quiet.filter((r) => r.declineHidden.declineStep !== null).length;
  const last = grokked[grokked.length - 1] ?? grok[grok.length - 1]!;
  const msPerStep = median(records.map((r) => r.msPerStep));
  const figures: ExperimentResult['figures'] = {
    backend,
    p: params.p as number,
    seeds: grok.length,
    grokked: grokked.length,
    jumpStepMedian: median(jumps),
    jumpStepMin: jumps.length ? Math.min(...jumps) : null,
    jumpStepMax: jumps.length ? Math.max(...jumps) : null,
    memorizeStepMedian: median(grok.filter((r) => r.memorizeStep !== null).map((r) => r.memorizeStep!)),
    omdAlarmStepMedian: median(alarms),
    omdDetected: alarms.length,
    leadMedian: median(leads),
    leadMin: leads.length ? Math.min(...leads) : null,
    leadMax: leads.length ? Math.max(...leads) : null,
    onsetLeadMedian: median(onsetLeads),
    omdBeforeJump: before,
    controlRuns: controls.length,
    controlsNotGrokked: quiet.length,
    falseAlarms: fired.length,
    falseAlarmRate: quiet.length ? round(fired.length / quiet.length) : null,
    exploratoryDeclineLeadMedian: median(declineLeads),
    exploratoryDeclineLeadMin: declineLeads.length ? Math.min(...declineLeads) : null,
    exploratoryDeclineLeadMax: declineLeads.length ? Math.max(...declineLeads) : null,
    exploratoryDeclineFalseAlarms: declineFired,
    fourierTop5Init: last.fourierTop5Init,
    fourierTop5Final: last.fourierTop5Final,
    tokenOmdFingerprint: last.tokenOmd.fingerprint,
    tokenOmdBandSize: last.tokenOmd.bandSize,
    tokenOmdCirculantDeviation: round(last.tokenOmd.circulantDeviation, 4),
    msPerStep,
  };
  const fmt = (x: number | null): string => (x === null ? '–' : String(x));
  const lines = [
    `grokking runs: ${grokked.length}/${grok.length} seeds reached test accuracy ≥ ${params.jumpThreshold} within ${params.steps} steps; jump step median ${fmt(figures.jumpStepMedian as number | null)} (range ${fmt(figures.jumpStepMin as number | null)}–${fmt(figures.jumpStepMax as number | null)}); memorised (train acc ≥ 0.99) by step ${fmt(figures.memorizeStepMedian as number | null)}`,
    `OMD detector (hidden layer: a band forms and holds, ${GROKKING_DETECTOR.minWindow} snapshots, overlap ≥ ${GROKKING_DETECTOR.minOverlap}, gap ratio ≥ ${GROKKING_DETECTOR.minGapRatio}): fired in ${alarms.length}/${grokked.length} grokked runs, alarm step median ${fmt(figures.omdAlarmStepMedian as number | null)}; lead (jump − alarm) median ${fmt(figures.leadMedian as number | null)} (range ${fmt(figures.leadMin as number | null)}…${fmt(figures.leadMax as number | null)}); before the jump in ${before}/${grokked.length}`,
    controls.length
      ? `false alarms: fired in ${fired.length}/${quiet.length} control runs that did not grok (${controls.length} control runs: no weight decay and train fraction ${params.controlFraction}; ${controls.length - quiet.length} grokked anyway)`
      : 'false alarms: no control runs (controlSeeds = 0)',
    `exploratory, not pre-registered: the hidden layer's OMD participation ratio falls 5 % below its peak ${fmt(figures.exploratoryDeclineLeadMedian as number | null)} steps before the jump (median; range ${fmt(figures.exploratoryDeclineLeadMin as number | null)}…${fmt(figures.exploratoryDeclineLeadMax as number | null)}, ${declineLeads.length}/${grokked.length} runs), and also in ${declineFired}/${quiet.length} controls that did not grok`,
    `token embedding after training (${last.condition} seed ${last.seed}): top-5 Fourier share ${last.fourierTop5Init} at init → ${last.fourierTop5Final} (key frequencies ${last.keyFrequencies.join(', ')}); OMD of the tokens reads ${last.tokenOmd.fingerprint}, band ${last.tokenOmd.bandSize}, circulant deviation ${figures.tokenOmdCirculantDeviation}`,
    `backend ${backend}, ${fmt(msPerStep)} ms per full-batch step (median over runs)`,
  ];
  return { figures, lines };
}
