export * from './types';
export * from './offerings';
export { admits, constraintClassKey, nodeObject, podObject } from './fit';
export { baselineScaleUp, decideScaleUp, usableCapacity } from './scale-up';
export { fitsElsewhere, isRemovableEmpty, planUnderutilized, utilisationPercent } from './scale-down';
