// Runs one `rarefy fit` in this process (from the built CLI) and reports its peak resident memory,
// so the benchmark measures a whole process the way a user runs it.
import { run } from '../dist/index.js';

const code = await run(process.argv);
process.stderr.write(`${JSON.stringify({ maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
process.exitCode = code;
