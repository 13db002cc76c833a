import { doctorReport } from '@rarefy/pilot-model/node';
import type { Command } from 'commander';
import { formatNumber } from '../format.js';
import { printJson, printLine } from '../io.js';
import type { CommandContext } from '../program.js';

/**
 * Adds `rarefy doctor`: which tensor backend is in use and why, its measured matMul speed, and the
 * onnxruntime version. `--json` prints `{ backend, reason, matMulGflops, onnxruntime, ... }`.
 *
 * @param program - the `rarefy` program
 * @param context - the Io the command prints to
 * @returns the subcommand
 * @example
 * ```ts
 * registerDoctor(program, context);
 * ```
 */
export function registerDoctor(program: Command, context: CommandContext): Command {
  return program
    .command('doctor')
    .description(
      'Report the tensor backend in use (tensorflow, wasm or cpu; RAREFY_BACKEND forces one) and why, its ' +
        'measured matMul GFLOP/s, and the onnxruntime version.',
    )
    .option(
      '--json',
      'print one JSON object { backend, reason, matMulGflops, onnxruntime, node, platform, cpus }',
    )
    .action(async (options: { json?: boolean }) => {
      const report = await doctorReport();
      if (options.json) {
        printJson(context.io, report);
        return;
      }
      printLine(
        context.io,
        [
          `backend      ${report.backend} (${report.reason})`,
          `matMul       ${formatNumber(report.matMulGflops, 3)} GFLOP/s (256 x 256, measured now)`,
          `onnxruntime  ${report.onnxruntime}`,
          `node         ${report.node} on ${report.platform}, ${report.cpus} CPUs`,
        ].join('\n'),
      );
    });
}
