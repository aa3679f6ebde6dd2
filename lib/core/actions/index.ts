/**
 * Small reversible actions: each returns a forward `sh` body and its exact inverse, to be
 * wrapped by `renderScript`.
 *
 * @module
 */
export * from "./reversible";
export * from "./backup-path";
export * from "./service-state";
export * from "./config-file";
export * from "./install";
export * from "./wait-for";
export * from "./link-path";
