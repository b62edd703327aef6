export * from './cloud';
export * from './regions';
export * from './address-plan';
export * from './firewall';
export * from './tags';
export * from './instance-types';
export * from './cluster';
export * from './mesh';
