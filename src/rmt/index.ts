/**
 * Random-matrix analysis of weight spectra (eigenvalues of X = W Wᵀ for an N x M weight matrix W,
 * r = N/M, W_ij ~ (0, σ²/M) at initialisation): the Marchenko–Pastur law and its fit, BBP
 * spikes, power-law tails, level statistics and the one-row-per-matrix report.
 *
 * rmt/ is the base analysis layer: omd/ and models/ build on its laws (the Marchenko–Pastur law,
 * BBP and Tracy–Widom closed forms) and import them from rmt/. Generic statistics and argument
 * checks live one layer lower, in ../stats.ts and ../validate.ts, and are internal (not
 * re-exported).
 */
export * from './marchenko-pastur.js';
export * from './fit.js';
export * from './spikes.js';
export * from './power-law.js';
export * from './level-stats.js';
export * from './weight-spectrum.js';
export * from './weights.js';
export { WEIGHT_SPECTRUM_COLUMNS, weightSpectrumToRow, WEIGHT_ROW_COLUMNS, weightRowToRow } from './columns.js';
export type { Column, ColumnDtype, FigureRow } from './columns.js';
