// The sandbox Kubernetes API server as a library (the CLI is main.ts).
export * from './server';
export * from './store';
export * from './errors';
export * from './types';
export { ResourceRegistry, BUILTIN_TYPES } from './resources';
