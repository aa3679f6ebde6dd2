export * from "./args";
export * from "./component";
export * from "./plan";
export { slotName } from "./pg-sh";
