import * as tf from '@tensorflow/tfjs-core';

/** The activation of a hidden layer; the output layer is linear. */
export type DenseActivation = 'relu' | 'tanh' | 'linear';

/**
 * A fully connected layer `activation(x W + b)` whose backward pass keeps every matMul in the plain
 * (untransposed) layout: the transposes are taken explicitly first, because on the wasm backend a
 * matMul with a transposed operand is several times slower than the same product on a transposed
 * copy (ALGORITHMS.md B.10). The gradients are
 *
 *     dZ = dY * activation'(Y),  dX = dZ W^T,  dW = X^T dZ,  db = sum over rows of dZ.
 *
 * The forward pass uses the fused matMul + bias (+ relu) kernel.
 *
 * @param x - inputs, shape [n, in]
 * @param weights - shape [in, out]
 * @param bias - shape [out]
 * @param activation - `relu`, `tanh` or `linear`
 * @returns the layer's outputs, shape [n, out]
 * @example
 * ```ts
 * const hidden = denseLayer(inputs, w1, b1, 'relu');
 * ```
 */
export function denseLayer(
  x: tf.Tensor2D,
  weights: tf.Tensor2D,
  bias: tf.Tensor1D,
  activation: DenseActivation,
): tf.Tensor2D {
  return denseLayers[activation](x, weights, bias);
}

function makeDenseLayer(
  activation: DenseActivation,
): (x: tf.Tensor2D, weights: tf.Tensor2D, bias: tf.Tensor1D) => tf.Tensor2D {
  return tf.customGrad<tf.Tensor2D>((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, weights, bias, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    // tf.fused.matMul falls back to separate matMul, add and relu kernels whenever a gradient is
    // being taken (it cannot differentiate the fused activation), which is always the case while
    // training; this layer has its own gradient, so it runs the fused kernel directly.
    const [rows, inner] = x.shape;
    const outer = weights.shape[1];
    const fused = (fusedActivation: 'relu' | 'linear'): tf.Tensor2D => {
      // The kernel takes batched (3-D) operands, as tf.fused.matMul hands them over.
      const a = tf.reshape(x, [1, rows, inner]);
      const b = tf.reshape(weights, [1, inner, outer]);
      const product = tf
        .engine()
        .runKernel(
          tf._FusedMatMul,
          { a, b, bias },
          { transposeA: false, transposeB: false, activation: fusedActivation },
        ) as tf.Tensor3D;
      return tf.reshape(product, [rows, outer]);
    };
    let output: tf.Tensor2D;
    if (activation === 'relu') output = fused('relu');
    else if (activation === 'tanh') output = tf.tanh(fused('linear'));
    else output = fused('linear');
    save([x, weights, output]);
    return {
      value: output,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [input, w, y] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        let dz: tf.Tensor2D;
        if (activation === 'relu') dz = tf.mul(dy, tf.step(y));
        else if (activation === 'tanh') dz = tf.mul(dy, tf.sub(1, tf.square(y)));
        else dz = dy;
        const dx = tf.matMul(dz, tf.transpose(w));
        const dw = tf.matMul(tf.transpose(input), dz);
        // The bias gradient as a product with a row of ones: on wasm a column sum transposes first,
        // a matMul in the plain layout does not.
        const db = tf.reshape(tf.matMul(tf.ones([1, dz.shape[0]]), dz), [dz.shape[1]]);
        return [dx, dw, db];
      },
    };
  });
}

const denseLayers: Record<
  DenseActivation,
  (x: tf.Tensor2D, weights: tf.Tensor2D, bias: tf.Tensor1D) => tf.Tensor2D
> = {
  relu: makeDenseLayer('relu'),
  tanh: makeDenseLayer('tanh'),
  linear: makeDenseLayer('linear'),
};
