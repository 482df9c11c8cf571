// The studio's UI store and WebGPU probe run in Node without a DOM.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AdapterInfoSummary, useStudio } from '../../src/ui/store.ts';
import { adapterLabel, formatBytes, probeWebGpu, WEBGPU_BROWSERS } from '../../src/view/webgpu.ts';

const sample: AdapterInfoSummary = {
  vendor: 'google',
  architecture: 'swiftshader',
  device: '',
  description: 'SwiftShader Device (Subzero)',
  limits: { maxStorageBufferBindingSize: 134217728, maxBufferSize: 268435456, maxComputeWorkgroupStorageSize: 16384 },
};

test('store starts checking and moves to ready / unavailable', () => {
  const s = useStudio.getState();
  assert.equal(s.gpuStatus, 'checking');
  assert.equal(s.adapter, null);

  s.setReady(sample);
  assert.equal(useStudio.getState().gpuStatus, 'ready');
  assert.deepEqual(useStudio.getState().adapter, sample);
  assert.equal(useStudio.getState().gpuReason, null);

  useStudio.getState().setUnavailable('no navigator.gpu');
  assert.equal(useStudio.getState().gpuStatus, 'unavailable');
  assert.equal(useStudio.getState().adapter, null);
  assert.equal(useStudio.getState().gpuReason, 'no navigator.gpu');

  useStudio.getState().setChecking();
  assert.equal(useStudio.getState().gpuStatus, 'checking');
  assert.equal(useStudio.getState().gpuReason, null);
});

test('probeWebGpu reports a missing navigator.gpu and a missing adapter', async () => {
  const none = await probeWebGpu(undefined);
  assert.equal(none.ok, false);
  const noAdapter = await probeWebGpu({ requestAdapter: async () => null } as unknown as GPU);
  assert.equal(noAdapter.ok, false);
  const throws = await probeWebGpu({
    requestAdapter: async () => {
      throw new Error('boom');
    },
  } as unknown as GPU);
  assert.ok(!throws.ok && throws.reason.includes('boom'));
});

test('probeWebGpu summarises adapter info and limits', async () => {
  const fakeAdapter = {
    info: { vendor: 'google', architecture: 'swiftshader', device: '', description: 'SwiftShader Device (Subzero)' },
    limits: sample.limits,
  };
  const r = await probeWebGpu({ requestAdapter: async () => fakeAdapter } as unknown as GPU);
  assert.ok(r.ok);
  assert.deepEqual(r.adapter, sample);
  assert.equal(adapterLabel(r.adapter), 'SwiftShader Device (Subzero) · google · swiftshader');
});

test('helpers: byte formatting, browser list, hidden adapter details', () => {
  assert.equal(formatBytes(134217728), '128 MiB');
  assert.equal(formatBytes(16384), '16 KiB');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(12), '12 B');
  assert.ok(WEBGPU_BROWSERS.some((b) => b.includes('Safari 26+')));
  assert.ok(WEBGPU_BROWSERS.some((b) => b.includes('Firefox 141+')));
  assert.match(adapterLabel({ ...sample, vendor: '', architecture: '', description: '' }), /details hidden/);
});

test('training progress: status changes, iteration rate and a bounded, smoothed PSNR series', () => {
  const st = useStudio.getState();
  st.setDataset('demo');
  assert.equal(useStudio.getState().trainStatus, 'ready');
  st.setTrainStatus('training');
  for (let i = 1; i <= 450; i++) {
    st.recordStep({
      iter: i,
      total: 600,
      elapsed: i / 4,
      psnr: i < 10 ? 10 : 20,
      loss: i < 10 ? 0.1 : 0.01,
      samples: 100,
      shaded: 50,
      event: i === 100 ? 'upsampled' : undefined,
    });
  }
  const p = useStudio.getState().progress;
  assert.equal(p.iter, 450);
  assert.equal(p.itPerSec, 4);
  assert.equal(p.psnr.length, 400, 'series is bounded');
  assert.ok(p.psnr[p.psnr.length - 1]! > 19.9 && p.psnr[0]! < 20, 'smoothed towards the latest values');
  assert.equal(p.loss.length, 400, 'the loss series is bounded alike');
  assert.ok(Math.abs(p.loss.at(-1)! - 0.01) < 1e-6 && p.loss[0]! > 0.01, 'the loss is smoothed alike');
  assert.equal(p.lastEvent, 'upsampled');
  for (let i = 25; i <= 450 * 25; i += 25) st.recordTestPsnr(i, 15 + i / 1e4);
  const t = useStudio.getState().progress.testPsnr;
  assert.equal(t.length, 400, 'held-out series is bounded');
  assert.deepEqual(t.at(-1), { iter: 450 * 25, psnr: 15 + (450 * 25) / 1e4 });
  st.recordStep({ iter: 1, total: 600, elapsed: 1, psnr: 10, samples: 1, shaded: 1 });
  assert.equal(useStudio.getState().progress.testPsnr.length, 0, 'a new run starts a new held-out series');
  assert.deepEqual(useStudio.getState().progress.psnr, [10], 'and new train series');
  assert.ok(Number.isNaN(useStudio.getState().progress.loss[0]!), 'a step without a loss records none');
  st.setTrainStatus('error', 'out of memory');
  assert.equal(useStudio.getState().trainError, 'out of memory');
  st.setDataset('again');
  assert.equal(useStudio.getState().progress.iter, 0, 'a new dataset resets progress');
});

test('rank slider: follows the growing model at the top, stays where the user put it otherwise, clamps', () => {
  const st = () => useStudio.getState();
  st().resetSlim(16, 1);
  assert.deepEqual([st().slim!.rank, st().slim!.trainedRank], [1, 1]);
  st().setTrainedRank(3);
  assert.equal(st().slim!.rank, 3, 'a slider at the top follows the trained rank');
  st().setRank(2);
  st().setTrainedRank(5);
  assert.equal(st().slim!.rank, 2, 'a slider the user moved stays');
  st().setRank(9);
  assert.equal(st().slim!.rank, 5, 'no rank above the trained one');
  st().setRank(0);
  assert.equal(st().slim!.rank, 1);
  st().setReadout({ rank: 1, params: 10, bytes: 100, psnr: null });
  st().setCurve([{ rank: 1, params: 10, bytes: 100, psnr: 20 }], 'done');
  assert.equal(st().slim!.curve.length, 1);
  st().setDataset('other');
  assert.equal(st().slim, null, 'a new dataset drops the old model');
});
