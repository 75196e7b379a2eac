/**
 * `ring`: the frustrated-Brownian-particle collapse on S² (the ring-collapse template of omd/) as
 * a recorded, training-free OMD calibration run. The uniform cloud's geodesic distance matrix
 * carries the S² triplet (d + 1 = 3 top non-Perron eigenvalues); as the particles collapse onto
 * a great-circle band it becomes the S¹ doublet. The run stores one OMD trajectory point per
 * recorded step (observable `particles`) and its report shows the regime timeline; the summary
 * names the transition step and the band sizes on either side.
 */
import { recordRun, throwIfAborted, writeResult } from './record.js';
import type { Experiment, ExperimentResult } from './types.js';

/** The ring-collapse calibration run. */
export const ringExperiment: Experiment = {
  name: 'ring',
  description: 'frustrated Brownian particles on S² collapsing onto a ring: a training-free OMD calibration run',
  params: [
    { key: 'n', kind: 'int', default: 300, min: 8, max: 5000, doc: 'particles N (the probe set)' },
    { key: 'steps', kind: 'int', default: 300, min: 2, doc: 'Euler–Maruyama steps' },
    { key: 'recordEvery', kind: 'int', default: 3, min: 1, doc: 'record a snapshot every this many steps' },
    { key: 'temperature', kind: 'number', default: 0.4, min: 0, doc: 'temperature T' },
    { key: 'sigma', kind: 'number', default: 1, min: 0, doc: 'coupling standard deviation σ' },
    { key: 'dt', kind: 'number', default: 0.005, min: 1e-6, max: 1, doc: 'time step' },
    { key: 'seed', kind: 'int', default: 1, min: 0, doc: 'seed of the couplings and the noise' },
  ],
  quick: { n: 200, recordEvery: 6 },
  async run(params, context): Promise<ExperimentResult> {
    const { ringCollapseTrajectory, OmdTrajectory, omdPointToRow, OMD_POINT_COLUMNS } = await import('../omd/index.js');
    const { openRun } = await import('../store/index.js');
    const { layerRegimes, regimeLines } = await import('./training-summary.js');
    const ring = ringCollapseTrajectory({
      n: params.n as number,
      steps: params.steps as number,
      recordEvery: params.recordEvery as number,
      temperature: params.temperature as number,
      sigma: params.sigma as number,
      dt: params.dt as number,
      seed: params.seed as number,
    });
    const traj = new OmdTrajectory({ metric: ring.metric });
    const snapshots = [];
    for (const [i, s] of ring.snapshots.entries()) {
      throwIfAborted(context);
      const p = await traj.push(s.step, s.reps);
      const { step: _s, ...row } = omdPointToRow(p);
      snapshots.push({
        step: s.step,
        observables: [
          {
            observable: 'particles',
            family: 'omd' as const,
            row,
            arrays: { values: p.figures.values, cloud: p.cloud },
          },
        ],
      });
      context.progress(i + 1, ring.snapshots.length, 'OMD snapshots');
    }
    const columns = OMD_POINT_COLUMNS.filter((c) => c.name !== 'step').map((c) => ({
      name: c.name,
      unit: c.unit,
      dtype: ({ f64: 'float64', i32: 'int', str: 'string', bool: 'bool' } as const)[c.dtype],
      doc: c.doc,
    }));
    await recordRun(context.out, {
      experiment: 'ring',
      params,
      seed: params.seed as number,
      snapshots,
      columns: { omd: columns },
    });
    const run = await openRun(context.out);
    const [regimes] = layerRegimes(run);
    const first = run.rows({ family: 'omd', observable: 'particles' })[0]!;
    const last = run.rows({ family: 'omd', observable: 'particles' }).at(-1)!;
    const { writeReport } = await import('../report/index.js');
    const { fromRun } = await import('../report/from-store.js');
    const report = (await writeReport([fromRun(run)], { onFigure: (d, t) => context.progress(d, t, 'report figures') }))
      .html;
    const transitions = regimes!.transitions;
    // The collapse: the transition that leaves the S² triplet for a smaller band (else the first one).
    const tr = transitions.find((t) => t.previousBandSize === 3 && t.bandSize < 3) ?? transitions[0];
    const figures: ExperimentResult['figures'] = {
      snapshots: snapshots.length,
      verdict: regimes!.verdict,
      transitions: transitions.length,
      transitionStep: tr ? tr.step : null,
      bandBefore: tr ? tr.previousBandSize : null,
      bandAfter: tr ? tr.bandSize : null,
      initialBandSize: first.band_size as number,
      finalBandSize: last.band_size as number,
    };
    const summary = [
      `ring collapse: N = ${params.n}, ${snapshots.length} snapshots over ${params.steps} steps`,
      tr
        ? `transition at step ${tr.step}: band m̂ ${tr.previousBandSize} → ${tr.bandSize} (the S² triplet becomes the S¹ doublet: 3 → 2)`
        : 'no transition found',
      ...(transitions.length > 1
        ? [
            `all transitions: ${transitions.map((t) => `step ${t.step} (${t.previousBandSize} → ${t.bandSize})`).join(', ')}`,
          ]
        : []),
      ...regimeLines([regimes!]),
      `report: ${report}`,
    ];
    writeResult(context.out, { experiment: 'ring', params, figures, summary, data: { regimes } });
    return { dir: context.out, report, figures, summary };
  },
};
