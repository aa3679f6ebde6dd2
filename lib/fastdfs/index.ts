export * from "./args";
export * from "./component";
export { FASTDFS_STEPS, planFastDfs } from "./plan";
