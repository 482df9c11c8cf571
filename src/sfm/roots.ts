// Real roots of a polynomial, as the minimal solvers need them: the eigenvalues of its companion
// matrix (ml-matrix's real Schur form), each polished by a few Newton steps.
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';

/** Real roots of Σ c[i] xⁱ (c from the constant term up), in increasing order. */
export function realRoots(c: readonly number[]): number[] {
  let n = c.length - 1;
  while (n > 0 && Math.abs(c[n]!) < 1e-300) n--;
  if (n < 1) return [];
  if (n === 1) return [-c[0]! / c[1]!];
  const companion = Matrix.zeros(n, n);
  for (let i = 0; i < n; i++) companion.set(0, i, -c[n - 1 - i]! / c[n]!);
  for (let i = 1; i < n; i++) companion.set(i, i - 1, 1);
  const eig = new EigenvalueDecomposition(companion, { assumeSymmetric: false });
  const re = eig.realEigenvalues;
  const im = eig.imaginaryEigenvalues;
  const roots: number[] = [];
  for (let i = 0; i < n; i++) {
    if (Math.abs(im[i]!) > 1e-6 * Math.max(1, Math.abs(re[i]!))) continue;
    let x = re[i]!;
    for (let step = 0; step < 3; step++) {
      let f = 0;
      let df = 0;
      for (let k = n; k >= 0; k--) {
        df = df * x + f;
        f = f * x + c[k]!;
      }
      if (df === 0) break;
      x -= f / df;
    }
    roots.push(x);
  }
  return roots.sort((a, b) => a - b);
}
