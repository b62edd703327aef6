/*
 * Below cluster.ts and mesh.ts: both name a node's role, and cluster.ts takes mesh.ts's MeshMode, so the role lives
 * here to keep mesh.ts from importing cluster.ts (no import cycle; `npm run lint` checks with import/no-cycle).
 */

/** Node roles. Masters run the control plane; workers run workloads. */
export type NodeRole = 'master' | 'worker';
