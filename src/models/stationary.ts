/**
 * The spectral density of the long-time SGD state in the teacher–student model (Park, Bocchi,
 * D'Amico, Lucini & Aarts 2026, arXiv:2606.28486, notebook 4.stationary): the stationary
 * weight-fluctuation covariance H⁻¹ℱH⁻¹, with the Hessian H modelled as a GOE matrix
 * (off-diagonal entries of variance σ_H²/N, semicircle on [−2σ_H, 2σ_H]) and the gradient-noise
 * covariance ℱ as a Wishart matrix X Xᵀ (X: N x M, entries of variance σ_F²/M, r = N/M), free of
 * each other.
 *
 * Its spectrum is the free multiplicative convolution of ℱ with H⁻² (Voiculescu's S-transform:
 * S_ℱ(t) = 1/(σ_F²(1 + rt)); H² is a free Poisson law of rate 1 and scale σ_H², so
 * S_{H⁻²}(t) = 1/S_{H²}(−1 − t) = −σ_H² t). With T(z) = z g(z) − 1 and z = (1 + T)/(T S(T)),
 * κ = σ_F²/σ_H², the equation is the quadratic (κr + z)T² + κ(1 + r)T + κ = 0, whence
 *
 *   ρ(λ) = √(4κλ − κ²(1 − r)²) / (2π λ (λ + κr)),   λ > κ(1 − r)²/4,
 *
 * normalised to 1, with the heavy tail ρ(λ) ≈ (√κ/π) λ^{−3/2} (infinite mean: H has
 * eigenvalues near 0). The release's notebook evaluates √(4(λ + r) − r²)/(2πλ(λ + r)) instead,
 * which shares the tail but is not normalised.
 */
import { checkNumber } from '../validate.js';

/** Parameters of the stationary state: r = N/M of ℱ, σ_H (GOE scale), σ_F (Wishart scale). */
export interface StationaryParams {
  ratio: number;
  /** Default 1. */
  sigmaH?: number;
  /** Default 1. */
  sigmaF?: number;
}

function resolve(p: StationaryParams): { r: number; kappa: number } {
  const r = checkNumber(p.ratio, 'ratio', { min: 0, minExclusive: true });
  const h = checkNumber(p.sigmaH ?? 1, 'sigmaH', { min: 0, minExclusive: true });
  const f = checkNumber(p.sigmaF ?? 1, 'sigmaF', { min: 0, minExclusive: true });
  return { r, kappa: (f * f) / (h * h) };
}

/**
 * The stationary density: ρ(λ) of the eigenvalues of H⁻¹ℱH⁻¹ (see the module doc), 0 below the
 * lower edge κ(1 − r)²/4. Integrates to 1 over λ > 0.
 *
 * @throws {TypeError|RangeError} for non-numbers or parameters ≤ 0.
 */
export function stationaryDensity(lambda: number, params: StationaryParams): number {
  const x = checkNumber(lambda, 'lambda');
  const { r, kappa } = resolve(params);
  const d = 4 * kappa * x - kappa * kappa * (1 - r) ** 2;
  if (!(x > 0) || !(d > 0)) return 0;
  return Math.sqrt(d) / (2 * Math.PI * x * (x + kappa * r));
}

/**
 * The support's lower edge κ(1 − r)²/4 and the tail amplitude a = √κ/π of ρ(λ) ≈ aλ^{−3/2}
 * (so P(λ > Λ) ≈ 2a/√Λ for large Λ).
 */
export function stationaryShape(params: StationaryParams): { lowerEdge: number; tailAmplitude: number } {
  const { r, kappa } = resolve(params);
  return { lowerEdge: (kappa * (1 - r) ** 2) / 4, tailAmplitude: Math.sqrt(kappa) / Math.PI };
}

/** Composite Simpson rule over [a, b]. */
function simpson(g: (x: number) => number, a: number, b: number, panels = 2000): number {
  const h = (b - a) / panels;
  let s = g(a) + g(b);
  for (let k = 1; k < panels; k++) s += (k % 2 ? 4 : 2) * g(a + k * h);
  return (s * h) / 3;
}

/**
 * The stationary distribution function P(λ' ≤ λ): near the lower edge e by λ = e + u² (smooth
 * in u), above 2e + κ by λ = e^y (smooth in y); Simpson's rule, relative error ~1e-9. For the
 * bin masses of a histogram.
 *
 * @throws {TypeError|RangeError} for non-numbers or parameters ≤ 0.
 */
export function stationaryCdf(lambda: number, params: StationaryParams): number {
  const x = checkNumber(lambda, 'lambda');
  const { r, kappa } = resolve(params);
  const e = (kappa * (1 - r) ** 2) / 4;
  if (!(x > e)) return 0;
  const rho = (l: number) => stationaryDensity(l, params);
  const split = 2 * e + kappa;
  const near = Math.min(x, split);
  let mass = simpson((u) => rho(e + u * u) * 2 * u, 0, Math.sqrt(near - e));
  if (x > split)
    mass += simpson(
      (y) => {
        const l = Math.exp(y);
        return rho(l) * l;
      },
      Math.log(split),
      Math.log(x),
      4000,
    );
  return Math.min(1, mass);
}
