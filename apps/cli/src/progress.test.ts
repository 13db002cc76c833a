import { describe, expect, it } from 'vitest';
import { createMemoryIo } from './io.js';
import { createProgress } from './progress.js';

describe('createProgress', () => {
  it('prints plain lines at most once per second off a terminal, and a last line', () => {
    let time = 0;
    const io = createMemoryIo();
    const progress = createProgress({ label: 'writing', total: 1000, stream: io.stderr, now: () => time });
    progress.update(100); // at 0 s: too soon
    time = 1200;
    progress.update(400, '3 positives');
    time = 1500;
    progress.update(600); // 0.3 s after the last line: skipped
    time = 2500;
    progress.stop();
    expect(io.stderrText().split('\n')).toEqual([
      'writing: 400/1,000 (40%) 3 positives',
      'writing: 600/1,000 (60%), done in 2.5 s',
      '',
    ]);
  });

  it('prints nothing for a short job, with --json off a terminal, or when silent', () => {
    let time = 0;
    for (const options of [{}, { json: true }, { silent: true }]) {
      const io = createMemoryIo();
      const progress = createProgress({ label: 'x', stream: io.stderr, now: () => time, ...options });
      progress.update(1);
      if (!('json' in options || 'silent' in options)) {
        progress.stop();
        expect(io.stderrText()).toBe('');
        continue;
      }
      time += 5000;
      progress.update(2);
      progress.stop();
      expect(io.stderrText()).toBe('');
    }
  });

  it('draws a bar on a terminal and never writes to stdout', () => {
    const io = createMemoryIo({ stderrIsTTY: true });
    const progress = createProgress({ label: 'writing', total: 10, json: true, stream: io.stderr });
    progress.update(5);
    progress.stop();
    expect(io.stderrText()).toContain('writing');
    expect(io.stdoutText()).toBe('');
  });
});
