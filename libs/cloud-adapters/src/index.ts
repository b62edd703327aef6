export * from './cloud-provider';
export * from './errors';
export * from './factory';
