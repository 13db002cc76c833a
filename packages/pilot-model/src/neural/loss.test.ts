import { denseLayer, selectBackend } from '@rarefy/model-kit';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { offsetBinaryCrossEntropy, offsetBinaryCrossEntropyAutograd } from './loss.js';

type GradientConfig = Parameters<typeof tf.registerGradient>[0];

/**
 * tfjs-core alone registers no gradients (the @tensorflow/tfjs bundle does), so for the autograd
 * reference this test registers the elementary derivatives of the ops the plain loss uses, for
 * same-shaped operands, where none is registered.
 */
function registerElementaryGradients(): void {
  const configs: GradientConfig[] = [
    { kernelName: 'Add', gradFunc: (dy) => ({ a: () => dy as tf.Tensor, b: () => dy as tf.Tensor }) },
    { kernelName: 'Sub', gradFunc: (dy) => ({ a: () => dy as tf.Tensor, b: () => tf.neg(dy as tf.Tensor) }) },
    {
      kernelName: 'Multiply',
      inputsToSave: ['a', 'b'],
      gradFunc: (dy, [a, b]) => ({
        a: () => tf.mul(dy as tf.Tensor, b as tf.Tensor),
        b: () => tf.mul(dy as tf.Tensor, a as tf.Tensor),
      }),
    },
    {
      kernelName: 'RealDiv',
      inputsToSave: ['a', 'b'],
      gradFunc: (dy, [a, b]) => ({
        a: () => tf.div(dy as tf.Tensor, b as tf.Tensor),
        b: () => tf.neg(tf.div(tf.mul(dy as tf.Tensor, a as tf.Tensor), tf.square(b as tf.Tensor))),
      }),
    },
    { kernelName: 'Neg', gradFunc: (dy) => ({ x: () => tf.neg(dy as tf.Tensor) }) },
    {
      kernelName: 'Relu',
      inputsToSave: ['x'],
      gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as tf.Tensor, tf.step(x as tf.Tensor)) }),
    },
    {
      kernelName: 'Abs',
      inputsToSave: ['x'],
      gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as tf.Tensor, tf.sign(x as tf.Tensor)) }),
    },
    {
      kernelName: 'Exp',
      outputsToSave: [true],
      gradFunc: (dy, [y]) => ({ x: () => tf.mul(dy as tf.Tensor, y as tf.Tensor) }),
    },
    {
      kernelName: 'Log1p',
      inputsToSave: ['x'],
      gradFunc: (dy, [x]) => ({ x: () => tf.div(dy as tf.Tensor, tf.add(1, x as tf.Tensor)) }),
    },
    {
      kernelName: 'Sum',
      inputsToSave: ['x'],
      gradFunc: (dy, [x]) => ({ x: () => tf.mul(tf.onesLike(x as tf.Tensor), dy as tf.Tensor) }),
    },
  ];
  for (const config of configs) {
    if (tf.getGradient(config.kernelName) === undefined) tf.registerGradient(config);
  }
}

beforeAll(async () => {
  await selectBackend();
  registerElementaryGradients();
});

// No row has z = logit + offset = 0 exactly: there autograd takes the subgradient 0 for both relu(z)
// and |z|, whose kinks cancel in the loss, and returns -y w / n instead of the true (1/2 - y) w / n
// (the hand-written gradient is exact there; see the next test).
const logits = [-3.2, -0.4, 0.1, 0.7, 2.5, 8, -12, 30];
const labels = [0, 1, 0, 1, 1, 0, 1, 0];
const offsets = [Math.LN10, Math.LN10, 0, 0.5, 0, 1, 2, -1];
const weights = [1, 10, 1, 2.5, 1, 0.5, 1, 3];

describe('offsetBinaryCrossEntropy', () => {
  it('equals the autograd loss and gradient, and the float64 closed form, to 1e-6', () => {
    const n = logits.length;
    const y = tf.tensor1d(labels);
    const o = tf.tensor1d(offsets);
    const w = tf.tensor1d(weights);
    const custom = tf.valueAndGrad((z: tf.Tensor) => offsetBinaryCrossEntropy(z as tf.Tensor1D, y, o, w))(
      tf.tensor1d(logits),
    );
    const reference = tf.valueAndGrad((z: tf.Tensor) =>
      offsetBinaryCrossEntropyAutograd(z as tf.Tensor1D, y, o, w),
    )(tf.tensor1d(logits));
    // float32 arithmetic on values of order 1-30: agreement to 1e-6 absolute (the loss is ~3).
    expect(
      Math.abs((custom.value.dataSync()[0] as number) - (reference.value.dataSync()[0] as number)),
    ).toBeLessThan(1e-6);
    const customGradient = Array.from(custom.grad.dataSync());
    const referenceGradient = Array.from(reference.grad.dataSync());
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const z = (logits[i] as number) + (offsets[i] as number);
      const yi = labels[i] as number;
      const wi = weights[i] as number;
      loss += (wi * (Math.max(z, 0) - z * yi + Math.log1p(Math.exp(-Math.abs(z))))) / n;
      const exact = (wi * (1 / (1 + Math.exp(-z)) - yi)) / n;
      expect(Math.abs((customGradient[i] as number) - (referenceGradient[i] as number))).toBeLessThan(1e-6);
      expect(Math.abs((customGradient[i] as number) - exact)).toBeLessThan(1e-6);
    }
    expect(Math.abs((custom.value.dataSync()[0] as number) - loss)).toBeLessThan(1e-6);
  });

  it('is exact at z = 0, where autograd through relu and |z| is not', () => {
    const gradient = tf.grad((z: tf.Tensor) =>
      offsetBinaryCrossEntropy(
        z as tf.Tensor1D,
        tf.tensor1d([0, 1]),
        tf.tensor1d([0, 0]),
        tf.tensor1d([1, 1]),
      ),
    )(tf.tensor1d([0, 0]));
    expect(Array.from(gradient.dataSync())).toEqual([0.25, -0.25]);
  });

  it('accepts [n, 1] logits and gives the offset the logit gradient', () => {
    const z = tf.tensor2d(logits, [logits.length, 1]);
    const y = tf.tensor1d(labels);
    const o = tf.tensor1d(offsets);
    const w = tf.tensor1d(weights);
    const [dz, dOffset] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      offsetBinaryCrossEntropy(a as tf.Tensor2D, y, b as tf.Tensor1D, w),
    )([z, o]);
    expect(dz?.shape).toEqual([logits.length, 1]);
    expect(Array.from(dz?.dataSync() ?? [])).toEqual(Array.from(dOffset?.dataSync() ?? []));
  });
});

describe('denseLayer', () => {
  it.each(['relu', 'tanh', 'linear'] as const)(
    'has the exact %s gradients in the plain matMul layout',
    (activation) => {
      const [n, d, h] = [5, 3, 4];
      const xs = Array.from({ length: n * d }, (_, k) => Math.sin(k + 1));
      const ws = Array.from({ length: d * h }, (_, k) => Math.cos(2 * k + 1) * 0.8);
      const bs = [0.1, -0.2, 0.05, 0.3];
      const dys = Array.from({ length: n * h }, (_, k) => Math.sin(3 * k + 2));
      const [dx, dw, db] = tf.grads((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
        denseLayer(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D, activation),
      )([tf.tensor2d(xs, [n, d]), tf.tensor2d(ws, [d, h]), tf.tensor1d(bs)], tf.tensor2d(dys, [n, h]));
      // Float64 reference: dZ = dY * f'(Z), dX = dZ W^T, dW = X^T dZ, db = column sums of dZ.
      const dz = new Float64Array(n * h);
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < h; c++) {
          let z = bs[c] as number;
          for (let j = 0; j < d; j++) z += (xs[i * d + j] as number) * (ws[j * h + c] as number);
          const slope =
            activation === 'relu' ? (z > 0 ? 1 : 0) : activation === 'tanh' ? 1 - Math.tanh(z) ** 2 : 1;
          dz[i * h + c] = (dys[i * h + c] as number) * slope;
        }
      }
      const dxValues = dx?.dataSync() ?? new Float32Array();
      const dwValues = dw?.dataSync() ?? new Float32Array();
      const dbValues = db?.dataSync() ?? new Float32Array();
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < d; j++) {
          let expected = 0;
          for (let c = 0; c < h; c++) expected += (dz[i * h + c] as number) * (ws[j * h + c] as number);
          expect(dxValues[i * d + j]).toBeCloseTo(expected, 5);
        }
      }
      for (let j = 0; j < d; j++) {
        for (let c = 0; c < h; c++) {
          let expected = 0;
          for (let i = 0; i < n; i++) expected += (xs[i * d + j] as number) * (dz[i * h + c] as number);
          expect(dwValues[j * h + c]).toBeCloseTo(expected, 5);
        }
      }
      for (let c = 0; c < h; c++) {
        let expected = 0;
        for (let i = 0; i < n; i++) expected += dz[i * h + c] as number;
        expect(dbValues[c]).toBeCloseTo(expected, 5);
      }
    },
  );
});
