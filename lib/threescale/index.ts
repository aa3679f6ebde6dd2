export * from "./args";
export * from "./component";
export * from "./plan";
export { REDIS_STEPS as THREESCALE_REDIS_STEPS, REDIS_DATA_FILES } from "./redis-phases";
export { ZYNC_STEPS } from "./zync-phases";
export { ROLLOUT_ANNOTATION, describeChange } from "./cluster-changes";
export type { ClusterChange, ClusterWave, Emitted } from "./cluster-changes";
