export * from './cloud-provider';
export * from './errors';
export { DEFAULT_CONSISTENCY_WINDOW_MS } from './consistency';
export { ruleText } from './drift';
export * from './factory';
export * from './network-spec';
export { GOOGLE_TOKEN_URL, allowedTokenUris, isAllowedTokenUri } from './gcp/gcp-auth';
export * from './retry';
export { CLOUD_METRICS } from './metrics';
