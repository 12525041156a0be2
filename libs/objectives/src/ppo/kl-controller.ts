// KL coefficient controllers for PPO / RLHF: fixed, and adaptive (Ziegler et al. 2019, Sec. 2.2;
// TRL's AdaptiveKLController): e = clip(KL / target - 1, -0.2, 0.2); coef *= 1 + e * nSteps / horizon.
import { requireInteger, requireNonNegative, requirePositive } from '../util/validate.ts';

export interface KlController {
  /** Current KL coefficient. */
  readonly value: number;
  /** Updates the coefficient after nSteps samples with observed mean KL `currentKl`. */
  update(currentKl: number, nSteps: number): void;
}

export class FixedKlController implements KlController {
  readonly value: number;
  constructor(klCoef: number) {
    this.value = requireNonNegative('klCoef', klCoef);
  }
  update(): void {}
}

export class AdaptiveKlController implements KlController {
  #value: number;
  readonly target: number;
  readonly horizon: number;

  constructor(opts: { initKlCoef: number; target: number; horizon: number }) {
    this.#value = requirePositive('initKlCoef', opts.initKlCoef);
    this.target = requirePositive('target', opts.target);
    this.horizon = requirePositive('horizon', opts.horizon);
  }

  get value(): number {
    return this.#value;
  }

  update(currentKl: number, nSteps: number): void {
    requireNonNegative('currentKl', currentKl);
    requireInteger('nSteps', nSteps, 1);
    const error = Math.min(0.2, Math.max(-0.2, currentKl / this.target - 1));
    this.#value *= 1 + (error * nSteps) / this.horizon;
  }
}
