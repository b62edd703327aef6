export * from './jetstream';
export * from './outbox-relay';
export * from './nest-transport';
