import type { FidelityCheck } from './types';

/** digitalocean's checks of the fidelity suite (test/fidelity/main.ts): common reads and error edge cases through the official SDK. */
export const checks: FidelityCheck[] = [];
