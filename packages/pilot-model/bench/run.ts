// `pnpm bench` in this package: the NeuralPilot training and scoring benchmark (bench/neural.ts).
await import('./neural.js');
