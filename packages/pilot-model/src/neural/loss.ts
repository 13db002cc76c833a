import * as tf from '@tensorflow/tfjs-core';

/**
 * The mean weighted binary cross-entropy of logits shifted by a per-row offset, with a hand-written
 * gradient (ALGORITHMS.md A.4 and B.10):
 *
 *     loss = (1/n) sum_i w_i [ max(z_i, 0) - z_i y_i + log(1 + exp(-|z_i|)) ],  z_i = logit_i + o_i
 *
 * and d loss / d logit_i = w_i (sigmoid(z_i) - y_i) / n, one elementwise pass instead of autograd's
 * chain through `abs`, `exp` and `log1p`. The offset receives the same gradient as the logit; labels
 * and weights are data and receive zeros.
 *
 * @param logits - the model's logits, shape [n] or [n, 1] (a final dense layer's output)
 * @param labels - 0/1 labels as float32, shape [n]
 * @param offset - per-row offsets (-log pi for the log-odds correction; zeros for none), shape [n]
 * @param weight - per-row weights (ones for none; 1/pi for IPW), shape [n]
 * @returns the scalar loss
 * @example
 * ```ts
 * const loss = offsetBinaryCrossEntropy(logits, labels, tf.fill([n], -Math.log(0.1)), tf.ones([n]));
 * ```
 */
export const offsetBinaryCrossEntropy: (
  logits: tf.Tensor1D | tf.Tensor2D,
  labels: tf.Tensor1D,
  offset: tf.Tensor1D,
  weight: tf.Tensor1D,
) => tf.Scalar = tf.customGrad<tf.Scalar>(
  // customGrad's own signature is untyped in its arguments; the wrapper above types it.
  (...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [logits, labels, offset, weight, save] = args as [
      tf.Tensor1D | tf.Tensor2D,
      tf.Tensor1D,
      tf.Tensor1D,
      tf.Tensor1D,
      tf.GradSaveFunc,
    ];
    const n = logits.shape[0];
    // The reshape happens inside the custom op, so no built-in gradient is needed (tfjs-core alone
    // registers none; the @tensorflow/tfjs bundle does).
    const z = tf.add(tf.reshape(logits, [n]), offset);
    const perRow = tf.add(tf.sub(tf.relu(z), tf.mul(z, labels)), tf.log1p(tf.exp(tf.neg(tf.abs(z)))));
    const value = tf.div<tf.Scalar>(tf.sum(tf.mul(weight, perRow)), n);
    const probability = tf.sigmoid(z);
    save([probability, labels, weight]);
    const logitShape = logits.shape;
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [p, y, w] = saved as [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
        const scale = tf.div(dy, n);
        const gradient = tf.mul(tf.mul(tf.sub(p, y), w), scale);
        return [tf.reshape(gradient, logitShape), tf.zerosLike(y), gradient, tf.zerosLike(w)];
      },
    };
  },
);

/**
 * The same loss as {@link offsetBinaryCrossEntropy} written with plain ops, so that autograd
 * differentiates it: the reference the hand-written gradient is tested against.
 *
 * @param logits - shape [n]
 * @param labels - shape [n]
 * @param offset - shape [n]
 * @param weight - shape [n]
 * @returns the scalar loss
 * @example
 * ```ts
 * const reference = offsetBinaryCrossEntropyAutograd(logits, labels, offset, weight);
 * ```
 */
export function offsetBinaryCrossEntropyAutograd(
  logits: tf.Tensor1D,
  labels: tf.Tensor1D,
  offset: tf.Tensor1D,
  weight: tf.Tensor1D,
): tf.Scalar {
  const z = tf.add(logits, offset);
  const perRow = tf.add(tf.sub(tf.relu(z), tf.mul(z, labels)), tf.log1p(tf.exp(tf.neg(tf.abs(z)))));
  return tf.div(tf.sum(tf.mul(weight, perRow)), logits.shape[0]);
}
