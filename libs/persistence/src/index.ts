export * from './entities/entities';
export * from './data-source';
export * from './crypto';
export * from './events';
export * from './locks';
export * from './lifecycle';
export * from './change-feed';
export * from './repositories';
