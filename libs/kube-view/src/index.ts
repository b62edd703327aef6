export * from './view';
export * from './watch';
export * from './watcher';
export * from './servers';
export * from './module';
