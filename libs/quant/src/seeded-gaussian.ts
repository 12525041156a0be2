// Seeded normal samples (Box-Muller over a 31-bit LCG) for tests and benchmarks: same seed, same data.

/** n samples of N(0, std^2) from `seed`; deterministic across runs and machines. */
export function seededGaussian(n: number, seed: number, std = 1): Float32Array {
  let s = seed >>> 0;
  const u = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s + 1) / 2147483649;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = std * Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return out;
}
