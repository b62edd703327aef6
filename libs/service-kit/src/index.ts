export * from './config';
export * from './logger';
export * from './vault';
export * from './runtime';
export * from './worker';
