// `pnpm bench` in this package: the NeuralPilot training and scoring benchmark (bench/neural.ts).
await import('./neural.js');
// Scoring speed of every pilot kind against the read pass, and pilots on w8a (bench/scoring.ts, bench/pilots.ts).
await import('./scoring.js');
await import('./pilots.js');
