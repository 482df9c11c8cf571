// The f64 twin of the nearest-two kernel (match.wgsl.ts): for each query descriptor, the index of
// the train descriptor with the largest dot product, that product, and the second largest.

export interface NearestTwo {
  index: Uint32Array;
  best: Float32Array;
  second: Float32Array;
}

export function nearestTwoRef(query: Float32Array, train: Float32Array, dims = 128): NearestTwo {
  const n = query.length / dims;
  const m = train.length / dims;
  const out: NearestTwo = { index: new Uint32Array(n), best: new Float32Array(n), second: new Float32Array(n) };
  for (let q = 0; q < n; q++) {
    let best = -2;
    let second = -2;
    let bestJ = 0xffffffff;
    for (let j = 0; j < m; j++) {
      let d = 0;
      for (let c = 0; c < dims; c++) d += query[q * dims + c]! * train[j * dims + c]!;
      if (d > best) {
        second = best;
        best = d;
        bestJ = j;
      } else if (d > second) second = d;
    }
    out.index[q] = bestJ;
    out.best[q] = best;
    out.second[q] = second;
  }
  return out;
}
