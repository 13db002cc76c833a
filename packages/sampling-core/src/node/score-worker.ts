/**
 * The worker thread of {@link ScoreWorkerPool} (a side-effect module: it listens on its parent port).
 * Per job it takes block indices from the shared counter until none is left, samples them with
 * `sampleBlocks`, and posts its kept rows back (their buffers transferred, not copied). On an error it
 * stops the other threads from taking further blocks and posts the error with its block.
 */
import { parentPort } from 'node:worker_threads';
import { blockCount, sampleBlocks } from './blocks.js';
import { type JobRequest, transferError, type WorkerReply } from './protocol.js';

const port = parentPort;
if (port === null) {
  throw new Error('score-worker: this module runs only as a worker thread started by ScoreWorkerPool');
}

port.on('message', (request: JobRequest) => {
  const { id, job, counter } = request;
  let block = -1;
  try {
    const output = sampleBlocks(job, () => {
      block = Atomics.add(counter, 0, 1);
      return block;
    });
    const reply: WorkerReply = { type: 'done', id, output };
    port.postMessage(reply, [
      output.blocks.buffer,
      output.ends.buffer,
      output.totals.buffer,
      output.rows.buffer,
      output.negativeKeep.buffer,
      output.positiveKeep.buffer,
    ]);
  } catch (error) {
    // No thread takes a block after this one; blocks already taken (all earlier ones among them) finish.
    Atomics.store(counter, 0, blockCount(job.x.rows, job.blockRows));
    const reply: WorkerReply = { type: 'failed', id, block, error: transferError(error) };
    port.postMessage(reply);
  }
});

const ready: WorkerReply = { type: 'ready' };
port.postMessage(ready);
