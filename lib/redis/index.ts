export * from "./args";
export * from "./component";
export { managedPaths, ManagedPaths, Role } from "./files";
export { REDIS_STEPS, planRedisHa } from "./plan";
